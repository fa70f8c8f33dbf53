// Progress of long work on stderr: a bar redrawn in place on a terminal, a line every few
// seconds otherwise (a log file, a pipeline under make). Silent under --quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace t2i {

class Progress {
 public:
  // total 0: unknown (counts without a bar).
  Progress(std::string what, std::uint64_t total);
  ~Progress();

  void add(std::uint64_t n = 1);
  // Extra text shown after the counts, e.g. current losses.
  void set_status(std::string status);
  // Prints the final count and rate once.
  void finish();

  // The line as it would be printed now (without terminal control codes).
  std::string line() const;

 private:
  void maybe_render(bool force);

  using Clock = std::chrono::steady_clock;
  std::string what_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  std::string status_;
  Clock::time_point start_, last_render_;
  bool tty_;
  bool enabled_;
  bool finished_ = false;
  bool drawn_ = false;
  double interval_s_;
};

}  // namespace t2i
