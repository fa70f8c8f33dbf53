#include <gtest/gtest.h>

#include "cli.h"
#include "error.h"
#include "progress.h"

namespace t2i {
namespace {

struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

ToolInfo info() {
  return {.name = "demo", .purpose = "do a thing", .usage = "demo [options] <in>", .example = "demo a | demo b\ndemo c",
          .see_also = "tensor-info(1)"};
}

int run(std::vector<std::string> args, const std::function<int(Cli&)>& body, bool compute = false) {
  args.insert(args.begin(), "demo");
  Argv a(std::move(args));
  Cli cli(info());
  int n = 0;
  cli.options().add_options()("count", po::value(&n)->default_value(1), "a count");
  if (compute) cli.add_compute_options();
  return cli.run(a.argc(), a.argv(), [&] { return body(cli); });
}

TEST(Cli, ExitCodesFollowTheErrorKind) {
  auto ok = [](Cli&) { return 0; };
  EXPECT_EQ(run({}, ok), 0);
  EXPECT_EQ(run({"--help"}, [](Cli&) { return 9; }), 0) << "--help does not run the body";
  EXPECT_EQ(run({"--version"}, [](Cli&) { return 9; }), 0);
  EXPECT_EQ(run({"--no-such-option"}, ok), 1);
  EXPECT_EQ(run({"--count", "many"}, ok), 1);
  EXPECT_EQ(run({"--verbose", "--quiet"}, ok), 1);
  EXPECT_EQ(run({}, [](Cli&) -> int { throw UsageError("x"); }), 1);
  EXPECT_EQ(run({}, [](Cli&) -> int { throw InputError("x"); }), 2);
  EXPECT_EQ(run({}, [](Cli&) -> int { throw RuntimeError("x"); }), 3);
  EXPECT_EQ(run({}, [](Cli&) -> int { throw std::bad_alloc(); }), 3);
  EXPECT_EQ(run({}, [](Cli&) -> int { throw std::logic_error("x"); }), 3);
}

TEST(Cli, CommandLineIsQuotedForTheShell) {
  EXPECT_EQ(run({"a b", "--count", "3", "it's", "", "x=1,y/z.st"}, [](Cli& c) {
              EXPECT_EQ(c.command_line(), "demo 'a b' --count 3 'it'\\''s' '' x=1,y/z.st");
              return 0;
            }),
            0);
  EXPECT_EQ(shell_quote("--ngf"), "--ngf");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("a\tb"), "$'a\\tb'");
  EXPECT_EQ(shell_quote("two\nlines it's \\ \x01"), "$'two\\nlines it\\'s \\\\ \\x01'");
  EXPECT_EQ(append_command("", "train-gan -o a.st"), "train-gan -o a.st");
  EXPECT_EQ(append_command("train-gan -o a.st", "train-gan -o a.st --resume"),
            "train-gan -o a.st\ntrain-gan -o a.st --resume");
}

TEST(Cli, PositionalArgumentsAndCounts) {
  EXPECT_EQ(run({"a", "--count", "3", "b"}, [](Cli& c) {
              EXPECT_EQ(c.args(), (std::vector<std::string>{"a", "b"}));
              EXPECT_TRUE(c.given("count"));
              c.expect_args(2, 2);
              return 0;
            }),
            0);
  EXPECT_EQ(run({"a"}, [](Cli& c) {
              EXPECT_FALSE(c.given("count"));
              c.expect_args(2, 3);
              return 0;
            }),
            1);
}

TEST(Cli, HelpHasUsageExampleOptionsAndSeeAlso) {
  Cli cli(info());
  cli.add_compute_options();
  std::string help = cli.help_text();
  for (const char* part : {"demo: do a thing", "Usage: demo [options] <in>", "e.g.:  demo a | demo b", "       demo c",
                           "--help", "--version", "--verbose", "--quiet", "--seed", "--threads", "--backend",
                           "Exit status:", "See also: tensor-info(1)"})
    EXPECT_NE(help.find(part), std::string::npos) << part;
}

TEST(Cli, ComputeOptionsValidateTheBackend) {
  auto backend_of = [](Cli& c) { return static_cast<int>(c.compute().backend) + 10; };
  EXPECT_EQ(run({}, backend_of, true), 11);  // cpu by default
  EXPECT_EQ(run({"--backend", "ref"}, backend_of, true), 10);
  EXPECT_EQ(run({"--backend", "tpu"}, backend_of, true), 1);
  EXPECT_EQ(run({"--threads", "-2"}, backend_of, true), 1);
  EXPECT_EQ(run({"--seed", "7", "--threads", "1"}, [](Cli& c) { return static_cast<int>(c.compute().seed); }, true), 7);
  std::string why;
  if (!backend_available(Backend::kCuda, &why)) {
    EXPECT_EQ(run({"--backend", "cuda"}, backend_of, true), 1) << "cuda is refused where it cannot run: " << why;
  }
  EXPECT_EQ(run({"--seed", "7"}, backend_of, false), 1) << "tools without compute options do not take --seed";
}

TEST(Cli, ParseSize) {
  int w = 0, h = 0;
  parse_size("64", "size", &w, &h);
  EXPECT_EQ(w, 64);
  EXPECT_EQ(h, 64);
  parse_size("76x32", "size", &w, &h);
  EXPECT_EQ(w, 76);
  EXPECT_EQ(h, 32);
  for (const char* bad : {"", "0", "-4", "x", "4x", "4x4x", "4y4", "99999", "64 "})
    EXPECT_THROW(parse_size(bad, "size", &w, &h), UsageError) << bad;
}

TEST(Progress, LineShowsCountsRateAndStatus) {
  Progress p("reading", 10);
  p.add(5);
  p.set_status("loss 0.25");
  std::string line = p.line();
  EXPECT_NE(line.find("reading [############............] 5/10 (50%)"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 0.25"), std::string::npos) << line;
  Progress open_ended("scanning", 0);
  open_ended.add(3);
  EXPECT_EQ(open_ended.line().rfind("scanning 3 ", 0), 0u) << open_ended.line();
}

}  // namespace
}  // namespace t2i
