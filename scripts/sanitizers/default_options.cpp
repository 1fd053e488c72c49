// Linked into every executable of a KWM_SANITIZE=address build: any report fails the run,
// and the suppressions of this folder apply however the binary is started (ctest, a test
// that spawns the server, by hand).
#ifndef KWM_SANITIZERS_DIR
#error "KWM_SANITIZERS_DIR must name scripts/sanitizers"
#endif

extern "C" {
const char* __asan_default_options() { return "detect_leaks=1:abort_on_error=1"; }
const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" KWM_SANITIZERS_DIR "/ubsan.supp";
}
const char* __lsan_default_options() { return "suppressions=" KWM_SANITIZERS_DIR "/lsan.supp"; }
}
