#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "log.h"

namespace t2i {

namespace {
std::string duration_text(double s) {
  auto t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}
}  // namespace

Progress::Progress(std::string what, std::uint64_t total)
    : what_(std::move(what)), total_(total), start_(Clock::now()), last_render_(start_) {
  tty_ = ::isatty(STDERR_FILENO) == 1;
  enabled_ = log::enabled(log::Level::kInfo);
  // Lines off a terminal: every 10 s by default; T2I_PROGRESS_INTERVAL (seconds) overrides.
  interval_s_ = tty_ ? 0.1 : 10.0;
  if (const char* env = std::getenv("T2I_PROGRESS_INTERVAL")) interval_s_ = std::atof(env);
}

Progress::~Progress() {
  if (tty_ && drawn_ && !finished_) {
    auto nl = std::string("\n");
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, nl.data(), nl.size());
  }
}

void Progress::add(std::uint64_t n) {
  done_ += n;
  maybe_render(false);
}

void Progress::set_status(std::string status) { status_ = std::move(status); }

std::string Progress::line() const {
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string out = what_ + " ";
  if (total_ > 0) {
    constexpr int kWidth = 24;
    double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    int fill = static_cast<int>(frac * kWidth);
    out += fmt::format("[{}{}] {}/{} ({:.0f}%)", std::string(static_cast<std::size_t>(fill), '#'),
                       std::string(static_cast<std::size_t>(kWidth - fill), '.'), done_, total_, frac * 100);
  } else {
    out += fmt::format("{}", done_);
  }
  out += fmt::format(" {:.1f}/s {}", rate, duration_text(elapsed));
  if (total_ > 0 && done_ > 0 && done_ < total_ && rate > 0)
    out += " eta " + duration_text(static_cast<double>(total_ - done_) / rate);
  if (!status_.empty()) out += " " + status_;
  return out;
}

void Progress::maybe_render(bool force) {
  if (!enabled_) return;
  auto now = Clock::now();
  if (!force && std::chrono::duration<double>(now - last_render_).count() < interval_s_) return;
  last_render_ = now;
  if (tty_) {
    std::string text = "\r" + log::program() + ": " + line() + "\x1b[K";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size());
    drawn_ = true;
  } else {
    log::info("{}", line());
  }
}

void Progress::finish() {
  if (finished_) return;
  if (enabled_) {
    if (tty_) {
      maybe_render(true);
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, "\n", 1);
    } else if (std::chrono::duration<double>(Clock::now() - start_).count() >= interval_s_) {
      log::info("{}", line());  // a last line only when earlier lines were due
    }
  }
  finished_ = true;
}

}  // namespace t2i
