#include "mcp/schema_check.h"

#include <gtest/gtest.h>

namespace mcp {
namespace {

const Json kSchema = Json::parse(R"json({
  "type": "object",
  "properties": {
    "job_id": {"type": "string"},
    "lines": {"type": "integer", "minimum": 1, "maximum": 10000},
    "stream": {"type": "string", "enum": ["stdout", "stderr"]},
    "argv": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "command": {"type": "string", "minLength": 1},
    "grace": {"type": "number", "exclusiveMinimum": 0}
  },
  "required": ["job_id"],
  "additionalProperties": false
})json");

std::string problem(const char* arguments) {
  return check_arguments(Json::parse(arguments), kSchema).value_or("");
}

TEST(SchemaCheck, AcceptsConformingArguments) {
  EXPECT_EQ(problem(R"({"job_id": "x", "lines": 5, "stream": "stderr", "argv": ["a"],
                        "env": {"A": "1"}, "grace": 0.5})"),
            "");
  EXPECT_EQ(problem(R"({"job_id": "x", "lines": 5.0})"), "");  // 5.0 is an integer
}

TEST(SchemaCheck, NamesTheArgumentAndTheFix) {
  EXPECT_EQ(problem("{}"), "missing required argument 'job_id'");
  EXPECT_EQ(problem(R"({"job_id": 7})"), "argument 'job_id' must be a string (got an integer)");
  EXPECT_EQ(problem(R"({"job_id": "x", "lines": 0})"),
            "argument 'lines' must be at least 1 (got 0)");
  EXPECT_EQ(problem(R"({"job_id": "x", "lines": 2.5})"),
            "argument 'lines' must be an integer (got a number)");
  EXPECT_EQ(problem(R"({"job_id": "x", "lines": 10001})"),
            "argument 'lines' must be at most 10000 (got 10001)");
  EXPECT_EQ(problem(R"({"job_id": "x", "stream": "both"})"),
            "argument 'stream' must be one of \"stdout\", \"stderr\" (got \"both\")");
  EXPECT_EQ(problem(R"({"job_id": "x", "argv": []})"),
            "argument 'argv' must have at least 1 item(s)");
  EXPECT_EQ(problem(R"({"job_id": "x", "argv": ["a", 2]})"),
            "argument 'argv[1]' must be a string (got an integer)");
  EXPECT_EQ(problem(R"({"job_id": "x", "env": {"A": 1}})"),
            "argument 'env.A' must be a string (got an integer)");
  EXPECT_EQ(problem(R"({"job_id": "x", "command": ""})"), "argument 'command' must not be empty");
  EXPECT_EQ(problem(R"({"job_id": "x", "grace": 0})"),
            "argument 'grace' must be greater than 0 (got 0)");
  EXPECT_EQ(problem(R"({"job_id": "x", "bogus": 1})")
                .rfind("unknown argument 'bogus'; the arguments are: ", 0),
            0u);
}

}  // namespace
}  // namespace mcp
