#include "policy/redactor.h"

#include <gtest/gtest.h>

#include <string>

namespace policy {
namespace {

// Fake secrets in the real shapes. The AWS pair is the one AWS's own documentation uses.
constexpr std::string_view kGithubToken = "ghp_0123456789abcdefghijABCDEFGHIJklmnopqr";
constexpr std::string_view kAwsKeyId = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view kAwsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kPemBody =
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";

const Redactor& builtin() {
  static const Redactor redactor = *Redactor::create();
  return redactor;
}

std::string redact(std::string_view text) { return builtin().redact(text); }

std::string pem(std::string_view type) {
  return "-----BEGIN " + std::string(type) + "PRIVATE KEY-----\n" + std::string(kPemBody) +
         "-----END " + std::string(type) + "PRIVATE KEY-----";
}

TEST(Redactor, PemPrivateKeyBlocksOfAnyType) {
  for (std::string_view type : {"", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA "}) {
    EXPECT_EQ(redact("key:\n" + pem(type) + "\ndone\n"), "key:\n[REDACTED]\ndone\n") << type;
  }
  EXPECT_EQ(redact("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n"
                   "-----END PGP PRIVATE KEY BLOCK-----\nafter"),
            "[REDACTED]\nafter");
}

TEST(Redactor, TwoPemBlocksAreTwoSecretsAndTheTextBetweenStays) {
  EXPECT_EQ(redact(pem("RSA ") + "\nbetween\n" + pem("EC ")), "[REDACTED]\nbetween\n[REDACTED]");
}

TEST(Redactor, APemBlockWithoutItsEndYetRunsToTheEndOfTheText) {
  std::string text = "start\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + std::string(kPemBody);
  EXPECT_EQ(redact(text), "start\n[REDACTED]\n");
  EXPECT_EQ(redact("-----BEGIN RSA PRIVATE KEY-----"), "[REDACTED]");
  EXPECT_EQ(redact("-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\nMIIEow"),
            "[REDACTED]");
}

TEST(Redactor, AKeyCutShortIsRedactedButNotWhatFollowsIt) {
  std::string text = "-----BEGIN EC PRIVATE KEY-----\n" + std::string(kPemBody) +
                     "error: connection reset by peer\nexit 1\n";
  EXPECT_EQ(redact(text), "[REDACTED]\nerror: connection reset by peer\nexit 1\n");
}

TEST(Redactor, PemBlocksWithEscapedNewlinesAsInJsonCredentials) {
  std::string json =
      R"({"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ\nIBAD\n)"
      R"(-----END PRIVATE KEY-----\n", "client_email": "a@b.iam.gserviceaccount.com"})";
  std::string redacted = redact(json);
  EXPECT_EQ(redacted.find("MIIEvQ"), std::string::npos) << redacted;
  EXPECT_NE(redacted.find("\"client_email\": \"a@b.iam.gserviceaccount.com\""), std::string::npos)
      << redacted;
}

TEST(Redactor, ThePartOfAPemBlockAfterItsBeginIsRecognisedByItsEnd) {
  // A page that starts inside a key block: its base64 lines and the END line go.
  std::string text = "xyz\n" + std::string(kPemBody) + "-----END RSA PRIVATE KEY-----\nnext\n";
  EXPECT_EQ(redact(text), "xyz\n[REDACTED]\nnext\n");
}

TEST(Redactor, PublicKeysAndCertificatesStay) {
  std::string cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
  EXPECT_EQ(redact(cert), cert);
  std::string pub = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----";
  EXPECT_EQ(redact(pub), pub);
}

TEST(Redactor, AwsAccessKeyIds) {
  EXPECT_EQ(redact("id " + std::string(kAwsKeyId) + " ok"), "id [REDACTED] ok");
  EXPECT_EQ(redact("ASIAY34FZKBOKMUTVV7A,"), "[REDACTED],");
  // Look-alikes: too short, part of a longer word, lower case.
  for (std::string_view text : {"AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE",
                                "akiaiosfodnn7example", "AKIAIOSFODNN7EXAMPLE1"}) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST(Redactor, AwsSecretKeysWhereTheyAreAssigned) {
  EXPECT_EQ(redact("aws_secret_access_key = " + std::string(kAwsSecret)),
            "aws_secret_access_key = [REDACTED]");
  EXPECT_EQ(redact("export AWS_SECRET_ACCESS_KEY=" + std::string(kAwsSecret) + "\n"),
            "export AWS_SECRET_ACCESS_KEY=[REDACTED]\n");
  EXPECT_EQ(redact("{\"aws_secret_access_key\": \"" + std::string(kAwsSecret) + "\"}"),
            "{\"aws_secret_access_key\": \"[REDACTED]\"}");
  // Forty base64 characters on their own could be anything (a hash, a path): they stay.
  EXPECT_EQ(redact(kAwsSecret), kAwsSecret);
}

TEST(Redactor, GithubTokens) {
  for (std::string_view prefix : {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}) {
    std::string token = std::string(prefix) + std::string(kGithubToken.substr(4));
    EXPECT_EQ(redact("token " + token + "."), "token [REDACTED].") << prefix;
  }
  EXPECT_EQ(redact("github_pat_11ABCDEFG0123456789_"
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"),
            "[REDACTED]");
  // Too short, or a different prefix.
  EXPECT_EQ(redact("ghp_short"), "ghp_short");
  EXPECT_EQ(redact("ghx_0123456789abcdefghijABCDEFGHIJklmnopqr"),
            "ghx_0123456789abcdefghijABCDEFGHIJklmnopqr");
}

TEST(Redactor, GitlabAndSlackTokens) {
  EXPECT_EQ(redact("glpat-AbCdEfGhIjKlMnOpQrSt12"), "[REDACTED]");
  EXPECT_EQ(redact("SLACK=xoxb-1234567890-abcdefghij"), "SLACK=[REDACTED]");
  EXPECT_EQ(redact("xoxp-1234567890-1234567890-abcdef "), "[REDACTED] ");
  EXPECT_EQ(redact("glpat-short"), "glpat-short");
  EXPECT_EQ(redact("xoxz-1234567890-abc"), "xoxz-1234567890-abc");
}

TEST(Redactor, OtherWellKnownTokens) {
  EXPECT_EQ(redact("npm_abcdefghijABCDEFGHIJ0123456789abcdef"), "[REDACTED]");
  EXPECT_EQ(redact("key=AIzaSyA-1234567890abcdefghijklmnopqrstu"), "key=[REDACTED]");
  EXPECT_EQ(redact("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), "[REDACTED]");
  EXPECT_EQ(redact("sk-ant-api03-abcdefghijklmnopqrstuvwxyz"), "[REDACTED]");
  EXPECT_EQ(redact("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"),
            "jwt [REDACTED]");
  EXPECT_EQ(redact("sk-learn is a package"), "sk-learn is a package");
}

TEST(Redactor, AuthorizationKeepsTheHeaderAndTheScheme) {
  EXPECT_EQ(redact("Authorization: Bearer abc.DEF-123_456\n"),
            "Authorization: Bearer [REDACTED]\n");
  EXPECT_EQ(redact("curl -H 'authorization: Basic dXNlcjpwYXNz' http://x"),
            "curl -H 'authorization: Basic [REDACTED]' http://x");
  EXPECT_EQ(redact("sent Bearer eyJhbGciOiJub25lIn0abcdef"), "sent Bearer [REDACTED]");
  EXPECT_EQ(redact("PRIVATE-TOKEN: abcdef123"), "PRIVATE-TOKEN: [REDACTED]");
  EXPECT_EQ(redact("x-api-key: 0123abcd"), "x-api-key: [REDACTED]");
  EXPECT_EQ(redact("the bearer of bad news"), "the bearer of bad news");
  EXPECT_EQ(redact("Bearer tokens are described in RFC 6750"),
            "Bearer tokens are described in RFC 6750");
}

TEST(Redactor, PasswordStyleAssignmentsKeepTheKey) {
  EXPECT_EQ(redact("password=hunter2"), "password=[REDACTED]");
  EXPECT_EQ(redact("DB_PASSWORD=hunter2 next"), "DB_PASSWORD=[REDACTED] next");
  EXPECT_EQ(redact("Password: hunter2\n"), "Password: [REDACTED]\n");
  EXPECT_EQ(redact("  db.password: 'two words'\n"), "  db.password: '[REDACTED]'\n");
  EXPECT_EQ(redact("- secret: s3cr3t"), "- secret: [REDACTED]");
  EXPECT_EQ(redact("{\"password\": \"two words\", \"user\": \"bob\"}"),
            "{\"password\": \"[REDACTED]\", \"user\": \"bob\"}");
  EXPECT_EQ(redact("https://x/cb?access_token=abc123&state=1"),
            "https://x/cb?access_token=[REDACTED]&state=1");
  EXPECT_EQ(redact("OPENAI_API_KEY=whatever-it-is"), "OPENAI_API_KEY=[REDACTED]");
  EXPECT_EQ(redact("client_secret = \"abc def\""), "client_secret = \"[REDACTED]\"");
  EXPECT_EQ(redact("mysql --password hunter2 db"), "mysql --password [REDACTED] db");
  EXPECT_EQ(redact("login --api-key 'k e y'"), "login --api-key '[REDACTED]'");
  EXPECT_EQ(redact("--password=hunter2"), "--password=[REDACTED]");
}

TEST(Redactor, CredentialsInUrlsKeepTheUser) {
  EXPECT_EQ(redact("postgres://app:s3cret@db:5432/x"), "postgres://app:[REDACTED]@db:5432/x");
  EXPECT_EQ(redact("https://bob:pa%40ss@github.com/o/r.git"),
            "https://bob:[REDACTED]@github.com/o/r.git");
  for (std::string_view text : {"http://localhost:8080/@scope/pkg", "git@github.com:org/repo.git",
                                "ssh://git@host:22/repo"}) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST(Redactor, ProseAndLookAlikesStay) {
  for (std::string_view text : {
           "Please enter your password:",
           "enter your password: ",
           "Password:",
           "password is required",
           "passwords: 3 changed",
           "SyntaxError: Unexpected token: punc (})",
           "error: unexpected token '=' at 3:4",
           "max_tokens=4096",
           "if token == expected:",
           "password_file=/etc/app/pass",
           "token: ",
           "the secret is out",
           "Compiling tokenizer v0.3.1",
           "[ 42%] Building CXX object src/CMakeFiles/secret_store.dir/secret.cc.o",
       }) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST(Redactor, CustomPatternsAreRedactedWhole) {
  auto redactor = Redactor::create({"internal-[0-9]{6}", "(?i)project (alpha|beta)"});
  ASSERT_TRUE(redactor) << redactor.error().message;
  EXPECT_EQ(redactor->redact("id internal-123456 in Project Beta, " + std::string(kAwsKeyId)),
            "id [REDACTED] in [REDACTED], [REDACTED]");
  EXPECT_EQ(redactor->redact("internal-12345"), "internal-12345");
}

TEST(Redactor, ABadCustomPatternIsAnErrorNamingIt) {
  auto bad = Redactor::create({"ok", "unclosed(group"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("redact_patterns"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'unclosed(group'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("missing )"), std::string::npos) << bad.error().message;

  auto empty = Redactor::create({"x*"});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("'x*' matches the empty string"), std::string::npos)
      << empty.error().message;
}

TEST(Redactor, FindLooksForSecretsBeginningBeforeTheLimitOnly) {
  std::string text = "a " + std::string(kAwsKeyId) + " b " + std::string(kGithubToken);
  auto all = builtin().find(text);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (Redactor::Span{2, 2 + kAwsKeyId.size()}));
  // A limit inside the first secret still finds it whole; the second begins after the limit.
  auto limited = builtin().find(text, 5);
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0], all[0]);
}

TEST(Redactor, ApplyCutsSecretsAtTheWindowEdges) {
  std::string text = "abc " + std::string(kGithubToken) + " xyz";
  auto spans = builtin().find(text);
  // The window starts inside the token: what of it is in the window is one marker.
  EXPECT_EQ(Redactor::apply(text, 10, text.size(), spans), "[REDACTED] xyz");
  // And ends inside it.
  EXPECT_EQ(Redactor::apply(text, 0, 10, spans), "abc [REDACTED]");
  EXPECT_EQ(Redactor::apply(text, 0, 3, spans), "abc");
  EXPECT_EQ(Redactor::apply(text, text.size() - 3, text.size(), spans), "xyz");
}

TEST(Redactor, OverlappingAndTouchingSecretsBecomeOneMarker) {
  auto redactor = Redactor::create({"hunt", "[.]{3}"});
  ASSERT_TRUE(redactor);
  EXPECT_EQ(redactor->redact("password=hunter2 end"), "password=[REDACTED] end");
  EXPECT_EQ(redactor->redact(std::string(kAwsKeyId) + "... end"), "[REDACTED] end");
}

TEST(Redactor, InvalidUtf8DoesNotStopIt) {
  std::string text = "\xff\xfe password=hunter2 \xc3";
  EXPECT_EQ(redact(text), "\xff\xfe password=[REDACTED] \xc3");
}

}  // namespace
}  // namespace policy
