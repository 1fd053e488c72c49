#pragma once
// systemd's readiness protocol (Type=notify): READY=1 once the listener is bound, STOPPING=1
// when a graceful shutdown begins. Without $NOTIFY_SOCKET (not started by systemd) these do
// nothing.
namespace kwm::app {

void notify_ready();
void notify_stopping();

}  // namespace kwm::app
