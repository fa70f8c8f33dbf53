#include "stop_signal.h"

#include <csignal>
#include <initializer_list>

namespace t2i {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
void (*g_prev_handler[2])(int) = {SIG_DFL, SIG_DFL};

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {  // a second one: stop now
    void (*prev)(int) = g_prev_handler[sig == SIGINT ? 0 : 1];
    if (prev != SIG_DFL && prev != SIG_IGN) {
      prev(sig);
      return;
    }
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  g_stop_signal = sig;
}

}  // namespace

void install_stop_handlers() {
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    ::sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;
    if (!(old.sa_flags & SA_SIGINFO)) g_prev_handler[sig == SIGINT ? 0 : 1] = old.sa_handler;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;  // reads and writes in flight go on; the loop checks the flag
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

int stop_signal() { return g_stop_signal; }

const char* stop_signal_name() { return g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace t2i
