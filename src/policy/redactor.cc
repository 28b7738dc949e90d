#include "policy/redactor.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>

namespace policy {
namespace {

// Key names whose value is a secret when something is assigned to them: `DB_PASSWORD=...`,
// `"api_key": "..."`, `client_secret: ...`. The name must end with one of these, so
// `max_tokens=4096`, `password_file=...` and `passwords: 3` stay as they are.
#define MCPBG_SECRET_KEYS \
  "(?i:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
// An assigned value: quoted (spaces allowed), or a run up to a delimiter. Never empty.
#define MCPBG_QUOTED_VALUE R"re("([^"\n]+)"|'([^'\n]+)')re"

// The built-in shapes, one alternative each. A pattern without capture groups is a secret whole;
// in one with groups, the first group that took part in the match is the secret, and what lies
// outside it (a header name, a key, `user:` in a URL) is kept so the reader still sees what was
// there. Written for Latin-1 matching: every pattern is ASCII and a byte is a character, so
// invalid UTF-8 cannot get in the way.
// The last three join the shared key and value parts by literal concatenation, on purpose.
// NOLINTBEGIN(bugprone-suspicious-missing-comma)
constexpr const char* kBuiltinPatterns[] = {
    // A PEM private key block of any type, BEGIN through END (its lines may be separated by
    // escaped newlines, as in a JSON credentials file).
    R"re(-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----(?s:.*?)-----END[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----)re",
    // A block whose END has not been printed (yet): the BEGIN line and the key's lines after it
    // (the Proc-Type and DEK-Info headers, a blank line, base64): to the end of the text while
    // the key is still arriving, but not over whatever follows a key that was cut short.
    R"re(-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----(?:(?:\r?\n(?:Proc-Type|DEK-Info): [^\r\n]*)+\r?\n\r?(?m:$))?(?:\r?\n[A-Za-z0-9+/=]+\r?(?m:$))*)re",
    // The rest of a PEM block whose BEGIN line is not in the text (the text starts inside it):
    // its base64 lines up to the END line.
    R"re((?m:^)(?:[A-Za-z0-9+/=]{16,}\r?\n)+-----END[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----)re",
    // AWS access key ids, and AWS secret access keys where they are assigned.
    R"re(\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)re",
    R"re((?i:aws_?secret_?access_?key)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9/+=]{20,}))re",
    // GitHub: classic tokens (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained ones.
    R"re(\bgh[pousr]_[A-Za-z0-9]{36,255}\b)re",
    R"re(\bgithub_pat_[A-Za-z0-9_]{22,255})re",
    // GitLab personal access tokens, Slack tokens.
    R"re(\bglpat-[A-Za-z0-9_-]{20,})re",
    R"re(\bxox[abprs]-[A-Za-z0-9-]{10,})re",
    // npm tokens, Google API keys, Stripe live keys, OpenAI project and Anthropic API keys, JWTs.
    R"re(\bnpm_[A-Za-z0-9]{36}\b)re",
    R"re(\bAIza[0-9A-Za-z_-]{35})re",
    R"re(\b(?:sk|rk)_live_[0-9A-Za-z]{20,})re",
    R"re(\bsk-(?:proj|ant)-[A-Za-z0-9_-]{20,})re",
    R"re(\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})re",
    // Authorization headers keep their name and scheme; the credentials go. "Bearer <token>"
    // elsewhere (curl -H, logs) too, when what follows looks like a token rather than prose.
    R"re((?i:authorization)["']?[ \t]*[:=][ \t]*["']?(?i:bearer|basic|token|bot|digest)[ \t]+([^\s"',;]+))re",
    R"re((?i:\bbearer)[ \t]+([A-Za-z0-9._~+/-]{16,}=*))re",
    R"re((?i:\b(?:x-api-key|api-key|x-auth-token|private-token|x-access-token))[ \t]*:[ \t]*([^\s"',;]+))re",
    // Credentials in a URL: scheme://user:password@host keeps the user.
    R"re(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@)re",
    // Assignments: NAME=value anywhere (environment dumps, command lines, query strings). The
    // value may not start with '=' (`token == x` is a comparison).
    MCPBG_SECRET_KEYS R"re(["']?[ \t]*=[ \t]*(?:)re" MCPBG_QUOTED_VALUE
                      R"re(|([^\s"'&;,=][^\s"'&;,]*)))re",
    // NAME: value only where NAME begins a line (YAML, config dumps) or is a quoted key (JSON),
    // so that prose such as "Unexpected token: }" or "enter your password: " is left alone.
    R"re((?:(?m:^)[ \t]*(?:-[ \t]+)?|["'])[A-Za-z0-9_.-]*)re" MCPBG_SECRET_KEYS
    R"re(["']?[ \t]*:[ \t]*(?:)re" MCPBG_QUOTED_VALUE R"re(|([^\s"',;{\[|>][^\s"',;]*)))re",
    // Command-line options: --password VALUE, --api-key 'VALUE' (the = form is above).
    R"re((?i:--[A-Za-z0-9-]*(?:password|passwd|passphrase|secret|token|api-?key))[ \t]+(?:)re" MCPBG_QUOTED_VALUE
    R"re(|([^\s"'-][^\s"']*)))re",
};
// NOLINTEND(bugprone-suspicious-missing-comma)

#undef MCPBG_SECRET_KEYS
#undef MCPBG_QUOTED_VALUE

// The DFA of the combined built-in patterns needs more than RE2's default budget (8 MiB) to run
// at full speed on text that keeps it busy; past its budget RE2 would fall back to a far slower
// engine.
constexpr int64_t kMaxRegexMemory = int64_t{64} << 20;

}  // namespace

struct Redactor::Engine {
  std::unique_ptr<RE2> combined;  // Every alternative at once: where the next secret is.
  // Which alternative matched, for those that keep part of their match (those with capture
  // groups): a second pass over the match alone, so the scan itself never extracts groups
  // (that would cost several times the scan on text full of secrets).
  std::unique_ptr<RE2::Set> which;  // Null when every alternative is redacted whole.
  std::vector<std::unique_ptr<RE2>> alternatives;

  // The secret within the match [start, end) of `text`.
  Span secret_in(std::string_view text, size_t start, size_t end,
                 std::vector<int>& candidates) const {
    Span whole{start, end};
    if (!which || !which->Match(text.substr(start, end - start), &candidates)) return whole;
    std::sort(candidates.begin(), candidates.end());
    std::array<re2::StringPiece, 8> groups;
    for (int index : candidates) {
      const RE2& alternative = *alternatives[static_cast<size_t>(index)];
      int count = std::min<int>(alternative.NumberOfCapturingGroups(), groups.size() - 1);
      if (count == 0) return whole;
      // The set saw the match out of context; this checks it in context (\b, ^).
      if (!alternative.Match(text, start, end, RE2::ANCHOR_BOTH, groups.data(), count + 1)) {
        continue;
      }
      for (int g = 1; g <= count; ++g) {
        if (groups[g].data() != nullptr && !groups[g].empty()) {
          size_t begin = static_cast<size_t>(groups[g].data() - text.data());
          return {begin, begin + groups[g].size()};
        }
      }
    }
    return whole;
  }

  // Appends the secrets beginning before `limit` to `out`, in order.
  void find(std::string_view text, size_t limit, std::vector<Span>& out) const {
    re2::StringPiece match;
    std::vector<int> candidates;
    size_t pos = 0;
    while (pos < limit && pos <= text.size()) {
      if (!combined->Match(text, pos, text.size(), RE2::UNANCHORED, &match, 1)) break;
      size_t start = static_cast<size_t>(match.data() - text.data());
      size_t end = start + match.size();
      if (start >= limit) break;
      if (start == end) {  // Only a custom pattern could; it redacts nothing.
        pos = start + 1;
        continue;
      }
      out.push_back(secret_in(text, start, end, candidates));
      pos = end;
    }
  }
};

namespace {

std::unique_ptr<RE2> compile(const std::string& pattern, RE2::Options::Encoding encoding) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(encoding);
  options.set_max_mem(kMaxRegexMemory);
  return std::make_unique<RE2>(pattern, options);
}

}  // namespace

base::Result<Redactor> Redactor::create(const std::vector<std::string>& extra_patterns) {
  // The built-ins: each alternative's own groups mark its secret.
  auto builtin = std::make_unique<Engine>();
  RE2::Options set_options;
  set_options.set_log_errors(false);
  set_options.set_encoding(RE2::Options::EncodingLatin1);
  set_options.set_max_mem(kMaxRegexMemory);
  builtin->which = std::make_unique<RE2::Set>(set_options, RE2::ANCHOR_BOTH);
  std::string combined;
  for (const char* pattern : kBuiltinPatterns) {
    auto single = compile(pattern, RE2::Options::EncodingLatin1);
    std::string error;
    if (!single->ok() || builtin->which->Add(pattern, &error) < 0) {
      // A bug in this file, not an operator's mistake; say so plainly all the same.
      return base::fail(fmt::format("built-in redaction pattern {} does not compile: {}", pattern,
                                    single->error()));
    }
    builtin->alternatives.push_back(std::move(single));
    combined += (combined.empty() ? "(?:" : "|(?:") + std::string(pattern) + ")";
  }
  builtin->combined = compile(combined, RE2::Options::EncodingLatin1);
  if (!builtin->combined->ok() || !builtin->which->Compile()) {
    return base::fail("the built-in redaction patterns do not compile together: " +
                      builtin->combined->error());
  }

  // The operator's: UTF-8, every match redacted whole.
  std::unique_ptr<Engine> custom;
  if (!extra_patterns.empty()) {
    custom = std::make_unique<Engine>();
    combined.clear();
    for (const auto& pattern : extra_patterns) {
      auto single = compile(pattern, RE2::Options::EncodingUTF8);
      if (!single->ok()) {
        return base::fail(fmt::format(
            "redact_patterns: '{}' is not a valid RE2 regular expression: {}; fix or remove it "
            "(the syntax is at https://github.com/google/re2/wiki/Syntax)",
            pattern, single->error()));
      }
      if (RE2::FullMatch("", *single)) {
        return base::fail(fmt::format(
            "redact_patterns: '{}' matches the empty string, so it would redact nothing; make it "
            "require at least one character (for example + instead of *)",
            pattern));
      }
      combined += (combined.empty() ? "(?:" : "|(?:") + pattern + ")";
    }
    custom->combined = compile(combined, RE2::Options::EncodingUTF8);
    if (!custom->combined->ok()) {
      return base::fail("redact_patterns do not compile together: " + custom->combined->error());
    }
  }
  return Redactor(std::move(builtin), std::move(custom));
}

Redactor::Redactor(std::unique_ptr<Engine> builtin, std::unique_ptr<Engine> custom)
    : builtin_(std::move(builtin)), custom_(std::move(custom)) {}
Redactor::Redactor(Redactor&&) noexcept = default;
Redactor& Redactor::operator=(Redactor&&) noexcept = default;
Redactor::~Redactor() = default;

std::vector<Redactor::Span> Redactor::find(std::string_view text, size_t limit) const {
  std::vector<Span> found;
  builtin_->find(text, limit, found);
  if (custom_) {
    custom_->find(text, limit, found);
    std::sort(found.begin(), found.end(),
              [](const Span& a, const Span& b) { return a.begin < b.begin; });
  }
  // Merge overlapping and touching secrets: one marker each.
  std::vector<Span> merged;
  for (const auto& span : found) {
    if (!merged.empty() && span.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, span.end);
    } else {
      merged.push_back(span);
    }
  }
  return merged;
}

std::string Redactor::redact(std::string_view text) const {
  return apply(text, 0, text.size(), find(text));
}

std::string Redactor::apply(std::string_view text, size_t begin, size_t end,
                            const std::vector<Span>& spans) {
  end = std::min(end, text.size());
  begin = std::min(begin, end);
  std::string out;
  out.reserve(end - begin);
  // Spans are sorted and disjoint, so their ends are sorted too: skip those ending before us.
  auto it = std::partition_point(spans.begin(), spans.end(),
                                 [begin](const Span& span) { return span.end <= begin; });
  size_t pos = begin;
  for (; it != spans.end() && it->begin < end; ++it) {
    size_t from = std::max(it->begin, begin);
    out.append(text.substr(pos, from - pos));
    out.append(kMarker);
    pos = std::min(it->end, end);
  }
  out.append(text.substr(pos, end - pos));
  return out;
}

}  // namespace policy
