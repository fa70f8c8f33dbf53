// SIGINT / SIGTERM as a request to stop at the next safe point (a training tool saves its
// checkpoint at the next minibatch boundary and exits). install_stop_handlers() keeps a signal the
// caller ignores ignored (a background job of a non-interactive shell ignores SIGINT); a second
// signal goes to the handlers in place before (common/file.h's, which remove temporary files and
// then die by the signal), or kills with the default action. Install after the first AtomicFile
// exists, so file.h's handlers are the ones chained to.
#pragma once

namespace t2i {

void install_stop_handlers();
// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int stop_signal();
// "SIGINT" or "SIGTERM".
const char* stop_signal_name();

}  // namespace t2i
