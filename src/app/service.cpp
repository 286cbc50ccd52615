#include "app/service.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdlib>

#include <httplib.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "engine/engine.hpp"
#include "engine/metrics.hpp"
#include "state/outbox.hpp"

namespace weir::app {

namespace {

constexpr int64_t kAliveWithinMs = 30000;   // /healthz: the loop passed within this
constexpr int64_t kStalledAfterMs = 5000;   // /readyz: the loop silent this long is stalled
constexpr TimeMs kStatusEvery = 5000;
constexpr TimeMs kReadinessEvery = 500;
constexpr auto kRenderWait = std::chrono::milliseconds(2000);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "<N>" syslog priority of a level, for journald.
class SyslogPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* p = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: p = "<7>"; break;
      case spdlog::level::info: p = "<6>"; break;
      case spdlog::level::warn: p = "<4>"; break;
      case spdlog::level::err: p = "<3>"; break;
      case spdlog::level::critical: p = "<2>"; break;
      default: break;
    }
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriority>(); }
};

}  // namespace

void configure_logging() {
  if (std::getenv("JOURNAL_STREAM") == nullptr) {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return;
  }
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<SyslogPriority>('*').set_pattern("%*%v");
  spdlog::set_formatter(std::move(f));
}

ServiceObserver::ServiceObserver(const config::Config& config) : metrics_(config.metrics()) {
  // Only under systemd (NOTIFY_SOCKET set); otherwise sd_notify does nothing anyway.
  notify_ = std::getenv("NOTIFY_SOCKET") != nullptr;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_every_ms_ = static_cast<int64_t>(usec / 2000);
    if (watchdog_every_ms_ < 1) watchdog_every_ms_ = 1;
  }
  loop_at_ms_ = steady_ms();
}

ServiceObserver::~ServiceObserver() { stop_server(); }

bool ServiceObserver::start(std::string& error) {
  if (!metrics_ || metrics_->port == 0) return true;  // no HTTP endpoint (maybe metrics over MQTT)
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const int64_t silent = steady_ms() - loop_at_ms_.load();
    if (silent <= kAliveWithinMs) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("stalled: the processing loop has not run for " + std::to_string(silent / 1000) + " s\n",
                      "text/plain");
    }
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const int64_t silent = steady_ms() - loop_at_ms_.load();
    std::string why;
    {
      std::lock_guard lock(mu_);
      why = not_ready_why_;
    }
    if (silent > kStalledAfterMs) why = "stalled: the processing loop has not run for " + std::to_string(silent / 1000) + " s";
    if (ready_.load() && silent <= kStalledAfterMs) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + why + "\n", "text/plain");
    }
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // Rendered by the processing thread at its next pass (it owns the engine); if it does
    // not come round in time, the last rendering is served.
    std::unique_lock lock(mu_);
    const uint64_t want = ++metrics_wanted_;
    cv_.wait_for(lock, kRenderWait, [&] { return metrics_done_ >= want; });
    res.set_content(metrics_text_, "text/plain; version=0.0.4; charset=utf-8");
  });
  if (!server_->bind_to_port(metrics_->listen, metrics_->port)) {
    error = "metrics: cannot listen on " + metrics_->listen + ":" + std::to_string(metrics_->port);
    server_.reset();
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("metrics on http://{}:{}/metrics (and /healthz, /readyz)", metrics_->listen, metrics_->port);
  return true;
}

void ServiceObserver::stop_server() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void ServiceObserver::update_readiness(const engine::RunView& view) {
  std::string why;
  for (const auto& c : view.connections) {
    if (c.subscribes && !c.connected) {
      why = "connection \"" + c.name + "\" is not connected";
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    not_ready_why_ = why;
  }
  ready_ = why.empty();
}

std::string ServiceObserver::status_line(const engine::RunView& view, TimeMs now) {
  uint64_t in = 0, out = 0;
  for (const auto& p : view.engine.pipelines()) {
    in += p->counters().readings_in;
    out += p->counters().outputs;
  }
  double in_rate = 0, out_rate = 0;
  if (last_rates_at_ != kMinTime && now > last_rates_at_) {
    const double secs = static_cast<double>(now - last_rates_at_) / 1000.0;
    in_rate = static_cast<double>(in - last_in_) / secs;
    out_rate = static_cast<double>(out - last_out_) / secs;
  }
  last_in_ = in;
  last_out_ = out;
  last_rates_at_ = now;
  size_t up = 0, outbox = 0;
  for (const auto& c : view.connections) {
    up += c.connected ? 1 : 0;
    if (c.outbox != nullptr) outbox += c.outbox->depth();
  }
  return fmt::format("{:.0f} readings/s in, {:.0f} outputs/s out, queue {}, outbox {}, {}/{} connections up",
                     in_rate, out_rate, view.queue_depth, outbox, up, view.connections.size());
}

void ServiceObserver::ready(const engine::RunView& view) {
  update_readiness(view);
  loop_at_ms_ = steady_ms();
  if (notify_) {
    sd_notifyf(0, "READY=1\nSTATUS=%s", status_line(view, 0).c_str());
    spdlog::info("systemd: ready{}", watchdog_every_ms_ > 0
                                         ? fmt::format(" (watchdog ping every {} ms)", watchdog_every_ms_)
                                         : std::string());
  }
}

void ServiceObserver::tick(TimeMs now, const std::function<engine::RunView()>& fill) {
  loop_at_ms_ = steady_ms();
  if (notify_ && watchdog_every_ms_ > 0 && (last_watchdog_ == kMinTime || now - last_watchdog_ >= watchdog_every_ms_)) {
    sd_notify(0, "WATCHDOG=1");
    last_watchdog_ = now;
  }
  bool render = false;
  {
    std::lock_guard lock(mu_);
    render = metrics_wanted_ > metrics_done_;
  }
  const bool status_due = notify_ && (last_status_ == kMinTime || now - last_status_ >= kStatusEvery);
  const bool readiness_due = server_ != nullptr && (last_readiness_ == kMinTime || now - last_readiness_ >= kReadinessEvery);
  if (!render && !status_due && !readiness_due) return;
  const engine::RunView view = fill();
  if (readiness_due) {
    update_readiness(view);
    last_readiness_ = now;
  }
  if (status_due) {
    sd_notifyf(0, "STATUS=%s", status_line(view, now).c_str());
    last_status_ = now;
  }
  if (render) {
    std::string text = engine::prometheus_metrics(view, now, WEIR_VERSION);
    {
      std::lock_guard lock(mu_);
      metrics_text_ = std::move(text);
      metrics_done_ = metrics_wanted_;
    }
    cv_.notify_all();
  }
}

void ServiceObserver::stopping() {
  if (notify_) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  ready_ = false;
  {
    std::lock_guard lock(mu_);
    not_ready_why_ = "stopping";
  }
}

}  // namespace weir::app
