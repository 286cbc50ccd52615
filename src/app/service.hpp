// weir run as a service: systemd notifications (READY, WATCHDOG from the processing loop,
// STATUS with the current rates, STOPPING) and the optional HTTP endpoint with Prometheus
// metrics, /healthz (the processing loop is alive) and /readyz (ingest connected, not
// stalled), on a loopback address. Both hang off the processing loop (engine::RunObserver):
// a stuck pipeline stops the watchdog pings, and systemd restarts weir.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "engine/run_observer.hpp"

namespace httplib {
class Server;
}

namespace weir::app {

class ServiceObserver final : public engine::RunObserver {
 public:
  explicit ServiceObserver(const config::Config& config);
  ~ServiceObserver() override;
  ServiceObserver(const ServiceObserver&) = delete;
  ServiceObserver& operator=(const ServiceObserver&) = delete;

  // Binds the metrics endpoint when the config asks for one; false with an error when the
  // port cannot be bound.
  bool start(std::string& error);

  void ready(const engine::RunView& view) override;
  void tick(TimeMs now, const std::function<engine::RunView()>& fill) override;
  void stopping() override;

 private:
  void update_readiness(const engine::RunView& view);
  std::string status_line(const engine::RunView& view, TimeMs now);
  void stop_server();

  std::optional<config::MetricsSpec> metrics_;
  // systemd
  bool notify_ = false;
  int64_t watchdog_every_ms_ = 0;  // half of WatchdogSec; 0: no watchdog
  TimeMs last_watchdog_ = kMinTime;
  TimeMs last_status_ = kMinTime;
  TimeMs last_readiness_ = kMinTime;
  uint64_t last_in_ = 0, last_out_ = 0;
  TimeMs last_rates_at_ = kMinTime;
  // shared with the HTTP thread
  std::atomic<int64_t> loop_at_ms_{0};  // steady clock of the last loop pass
  std::atomic<bool> ready_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string not_ready_why_ = "starting";
  std::string metrics_text_;
  uint64_t metrics_wanted_ = 0;
  uint64_t metrics_done_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Logs in a form journald reads: when stderr is the journal (JOURNAL_STREAM), each line
// starts with its syslog priority ("<3>") and carries no timestamp of its own.
void configure_logging();

}  // namespace weir::app
