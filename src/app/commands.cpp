#include "app/commands.hpp"
#include "app/service.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "engine/emit_spec.hpp"
#include "engine/engine.hpp"
#include "engine/registry.hpp"
#include "engine/runner.hpp"
#include "engine/source_spec.hpp"
#include "state/journal.hpp"
#include "state/sqlite/state_store.hpp"

namespace weir::app {

namespace {

// Loads the config and builds every pipeline once (without connecting), so every error a
// stage can find is found. Prints the error and returns nullopt on failure.
std::optional<config::Config> load(const std::string& file, std::ostream& err) {
  try {
    config::Config cfg = config::Config::load_file(file);
    ManualClock clock;
    engine::Engine probe(cfg, clock);
    return cfg;
  } catch (const config::ConfigError& e) {
    err << "weir: config error: " << config::format_config_error(file, e) << "\n";
  }
  return std::nullopt;
}

void set_level(const config::Config& cfg, const std::string& override_level) {
  const std::string& lvl = override_level.empty() ? cfg.engine().log_level : override_level;
  spdlog::set_level(spdlog::level::from_str(lvl));
}

void print_component(std::ostream& out, const ComponentInfo& info) {
  out << info.name << ": " << info.description << "\n";
  for (const auto& o : info.options) {
    out << "    " << o.name << " (" << option_type_name(o.type) << (o.required ? ", required" : "")
        << (o.default_value.empty() ? "" : ", default " + std::string(o.default_value)) << "): "
        << o.description << "\n";
  }
}

}  // namespace

int cmd_check(const std::string& file, std::ostream& out, std::ostream& err) {
  auto cfg = load(file, err);
  if (!cfg) return kExitConfig;
  out << file << ": OK (" << cfg->pipelines().size() << " pipeline(s), "
      << cfg->connections().size() << " connection(s))\n";
  return kExitOk;
}

std::string default_pid_file(const config::Config& cfg) {
  return cfg.state() ? cfg.state()->path + ".pid" : std::string();
}

int cmd_run(const std::string& file, const std::string& log_level, bool fresh_state,
            const std::atomic<bool>& stop, std::atomic<bool>* reload, const std::string& pid_file) {
  auto cfg = load(file, std::cerr);
  if (!cfg) return kExitConfig;
  set_level(*cfg, log_level);
  // The pid file lets `weir reload` find this process (systemd uses $MAINPID instead).
  struct PidFile {
    std::string path;
    ~PidFile() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } pid{pid_file.empty() ? default_pid_file(*cfg) : pid_file};
  if (!pid.path.empty()) {
    std::ofstream out(pid.path, std::ios::trunc);
    out << ::getpid() << "\n";
    if (!out) {
      spdlog::warn("cannot write the pid file {} (weir reload will not find this weir)", pid.path);
      pid.path.clear();
    }
  }
  // The state database is checked before anything connects: weir does not start on a
  // database that is corrupt, truncated, foreign or from a newer weir (unless told to
  // start fresh, which keeps the old file aside).
  std::unique_ptr<state::StateStore> store;
  if (cfg->state()) {
    const auto& sp = *cfg->state();
    state::StoreOptions so;
    so.path = sp.path;
    so.synchronous = sp.synchronous == "off"    ? state::Synchronous::kOff
                     : sp.synchronous == "full" ? state::Synchronous::kFull
                                                : state::Synchronous::kNormal;
    so.fresh = fresh_state;
    try {
      store = state::StateStore::open(so);
    } catch (const state::StateError& e) {
      std::cerr << "weir: state error: " << e.what() << "\n";
      return kExitState;
    }
    if (!store->set_aside().empty()) {
      spdlog::warn("state database {} could not be used; kept aside as {}, starting fresh", sp.path,
                   store->set_aside());
    }
    spdlog::info("state database {} (schema {})", sp.path, store->schema_version());
  }
  ServiceObserver service(*cfg);
  std::string error;
  if (!service.start(error)) {
    spdlog::error("{}", error);
    return kExitRuntime;
  }
  engine::ReloadHook hook;
  hook.requested = reload;
  hook.read = [file, log_level]() -> std::optional<config::Config> {
    std::ostringstream err;
    auto next = load(file, err);
    if (!next) {
      std::string text = err.str();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      spdlog::error("reload: {}", text);
      return std::nullopt;
    }
    set_level(*next, log_level);
    return next;
  };
  try {
    return engine::run_live(*cfg, stop, store.get(), &service, std::move(hook));
  } catch (const std::exception& e) {
    spdlog::critical("weir stopped: {}", e.what());
    return kExitRuntime;
  }
}

int cmd_reload(const std::string& file, const std::string& pid_file, std::ostream& out, std::ostream& err) {
  auto cfg = load(file, err);
  if (!cfg) return kExitConfig;  // the running weir is not disturbed with a broken config
  const std::string path = pid_file.empty() ? default_pid_file(*cfg) : pid_file;
  if (path.empty()) {
    err << "weir reload: no pid file (the config has no state section): give --pid-file, or use "
           "systemctl reload weir / kill -HUP\n";
    return kExitRuntime;
  }
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) {
    err << "weir reload: cannot read a pid from " << path << " (is weir running?)\n";
    return kExitRuntime;
  }
  if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0) {
    err << "weir reload: cannot signal pid " << pid << ": " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  out << "weir reload: " << file << " is valid; asked weir (pid " << pid
      << ") to reload it (what it applied is in its log)\n";
  return kExitOk;
}

int cmd_replay(const std::string& file, const engine::ReplayOptions& options,
               const std::string& log_level) {
  auto cfg = load(file, std::cerr);
  if (!cfg) return kExitConfig;
  // Replay keeps stderr for problems only.
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? "error" : log_level));
  engine::ReplayStats stats;
  std::string error;
  if (!engine::replay(*cfg, options, stdout, stats, error)) {
    std::cerr << "weir replay: " << error << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

int cmd_stages(std::ostream& out) {
  print_component(out, engine::source_info());
  for (const auto& s : engine::builtin_stages()) print_component(out, s.factory.info());
  print_component(out, engine::emit_info());
  print_component(out, engine::merge_info());
  return kExitOk;
}

int cmd_state(const std::string& config_file, const std::string& db_path, std::ostream& out,
              std::ostream& err) {
  std::string path = db_path;
  std::string journal_dir = db_path.empty() ? "" : db_path + ".journal";
  if (path.empty()) {
    try {
      config::Config cfg = config::Config::load_file(config_file);
      if (!cfg.state()) {
        err << "weir: " << config_file << " has no \"state\" section (no state database)\n";
        return kExitConfig;
      }
      path = cfg.state()->path;
      journal_dir = cfg.state()->journal;
    } catch (const config::ConfigError& e) {
      err << "weir: config error: " << config::format_config_error(config_file, e) << "\n";
      return kExitConfig;
    }
  }
  try {
    auto store = state::StateStore::open({.path = path, .read_only = true});
    const state::StoreSummary sum = store->summary();
    out << "state database: " << path << "\n"
        << "  schema version " << sum.schema_version << ", written by "
        << (sum.created_by.empty() ? "?" : sum.created_by) << ", created "
        << (sum.created_at.empty() ? "?" : sum.created_at) << ", journal mode " << sum.journal_mode
        << "\n";
    // Each stage's own entry says what it holds; the engine's, where the journal stands.
    auto own_entry = [&](const std::string& pipeline, int64_t stage, std::string_view key) {
      nlohmann::json v;
      store->for_each(pipeline, stage, [&](std::string_view k, std::string_view text) {
        if (k == key) v = nlohmann::json::parse(text, nullptr, false);
      });
      return v;
    };
    uint64_t applied = 0;
    bool any = false;
    for (const auto& st : sum.stages) {
      if (st.pipeline == "#engine") {
        auto e = own_entry(st.pipeline, st.stage, "source");
        if (e.is_object() && e.contains("journalSeq") && e["journalSeq"].is_number_unsigned()) {
          applied = e["journalSeq"].get<uint64_t>();
        }
        continue;
      }
      any = true;
      out << "  pipeline \"" << st.pipeline << "\" stage " << st.stage;
      auto own = own_entry(st.pipeline, st.stage, Operator::kStageKey);
      if (own.is_object() && own.contains("kind") && own["kind"].is_string()) {
        out << " " << own["kind"].get<std::string>();
      }
      out << ": " << st.entries << " entries, " << st.bytes << " bytes";
      if (own.is_object()) {
        if (own.contains("groups") && own["groups"].is_number()) out << ", " << own["groups"].dump() << " groups";
        if (own.contains("openWindows") && own["openWindows"].is_number()) {
          out << ", " << own["openWindows"].dump() << " open windows";
        }
        if (own.contains("watermark")) {
          const auto& w = own["watermark"];
          out << ", watermark " << (w.is_number_integer() ? format_iso8601(w.get<int64_t>()) : std::string("none"));
        }
      }
      out << "\n";
    }
    if (!any) out << "  no pipeline state\n";
    out << "  checkpoint covers the journal up to message " << applied << "\n";
    try {
      auto j = state::Journal::open({.dir = journal_dir, .read_only = true});
      const uint64_t last = j->last_seq();
      out << "journal: " << journal_dir << ": " << j->segments() << " segment(s), " << j->bytes()
          << " bytes, " << (last > applied ? last - applied : 0)
          << " message(s) after the checkpoint (replayed at the next start)\n";
    } catch (const state::JournalError& e) {
      out << "journal: " << e.what() << "\n";
    }
    if (sum.outboxes.empty()) {
      out << "outbox: empty\n";
    } else {
      for (const auto& o : sum.outboxes) {
        out << "outbox \"" << o.sink << "\": " << o.entries << " output(s), " << o.bytes
            << " bytes, oldest from " << format_iso8601(o.oldest) << "\n";
      }
    }
    return kExitOk;
  } catch (const state::StateError& e) {
    err << "weir: state error: " << e.what() << "\n";
    return kExitState;
  }
}

}  // namespace weir::app
