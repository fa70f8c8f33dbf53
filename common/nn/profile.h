// Where the time goes: an optional per-layer account of wall time and FLOPs, switched on by
// the benchmark. Layers report each forward and backward call; off, a call costs one branch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace t2i::nn {

struct ProfileEntry {
  double seconds = 0;
  std::int64_t flops = 0;
  std::int64_t calls = 0;
};

class Profile {
 public:
  static Profile& get();
  bool enabled = false;
  // FLOPs of every counted op since reset(), whether or not timing is enabled.
  std::int64_t total_flops = 0;
  std::map<std::string, ProfileEntry> entries;
  // Called before and after each timed op where set: a device backend's synchronize(), so that
  // an op's time is its device time rather than its launch's.
  std::function<void()> sync;
  void reset() {
    total_flops = 0;
    entries.clear();
  }
};

// Times one call of a layer op and counts its FLOPs.
class ProfileScope {
 public:
  ProfileScope(const std::string& layer, const char* what, std::int64_t flops) : p_(Profile::get()), flops_(flops) {
    p_.total_flops += flops;
    if (p_.enabled) {
      key_ = layer + " " + what;
      if (p_.sync) p_.sync();
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~ProfileScope() {
    if (!p_.enabled) return;
    // A device error found here (a destructor must not throw) surfaces at the backend's next
    // checked call, which reports it.
    if (p_.sync) {
      try {
        p_.sync();
      } catch (...) {
      }
    }
    ProfileEntry& e = p_.entries[key_];
    e.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    e.flops += flops_;
    ++e.calls;
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Profile& p_;
  std::int64_t flops_;
  std::string key_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace t2i::nn
