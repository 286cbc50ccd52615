// nab_score: scores a detector's output on the Numenta Anomaly Benchmark (NAB) rules, as the
// reference implementation does (numenta/NAB nab/sweeper.py): per-row sweep weights from the
// labelled windows, probation period ignored, one threshold per profile over the whole corpus
// chosen by sweeping every distinct score, normalised against the null and perfect detectors.
//
//   nab_score --data DIR --results DIR [--verbose]
//
// DIR of --data holds windows.json and the CSV files (`timestamp,value`) it names; DIR of
// --results holds, at the same relative paths, the detector's `timestamp,score` CSVs (header,
// one row per input row, same order). Prints one line per profile: normalised score (0-100),
// the threshold chosen and the raw score; with --verbose also TP/FP/FN per file at that
// threshold. Exit code 0, or 1 when an input is missing or malformed.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace {

struct Profile {
  const char* name;
  double tp_weight;
  double fp_weight;
  double fn_weight;
};

constexpr Profile kProfiles[] = {
    {"standard", 1.0, 0.11, 1.0},
    {"reward_low_FP_rate", 1.0, 0.22, 1.0},
    {"reward_low_FN_rate", 1.0, 0.11, 2.0},
};

constexpr double kProbationPercent = 0.15;

// Scaled sigmoid of a relative position (sweeper.py scaledSigmoid).
double scaled_sigmoid(double y) {
  if (y >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

// "YYYY-MM-DD HH:MM:SS[.ffffff]" -> microseconds since the epoch (UTC, proleptic Gregorian).
std::optional<int64_t> parse_time_us(std::string_view s) {
  auto num = [&](size_t pos, size_t len) -> std::optional<int64_t> {
    if (pos + len > s.size()) return std::nullopt;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    if (ec != std::errc() || p != s.data() + pos + len) return std::nullopt;
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  int64_t frac = 0;
  if (s.size() > 20 && s[19] == '.') {
    std::string digits(s.substr(20, 6));
    while (digits.size() < 6) digits.push_back('0');
    auto f = num(20, std::min<size_t>(6, s.size() - 20));
    if (!f) return std::nullopt;
    frac = std::stoll(digits);
  }
  // Days from civil (Howard Hinnant's algorithm).
  int64_t yy = *y - (*mo <= 2 ? 1 : 0);
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t mp = (*mo + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + *d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + *h) * 60 + *mi) * 60 * 1000000 + *se * 1000000 + frac;
}

struct Column {
  std::vector<int64_t> times_us;
  std::vector<double> values;
};

// Reads a two-column CSV with a header; the second column as double.
bool read_csv(const std::string& path, Column& out, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = "cannot open " + path;
    return false;
  }
  std::string line;
  if (!std::getline(in, line)) {
    err = "empty file " + path;
    return false;
  }
  size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto comma = line.find(',');
    if (comma == std::string::npos) {
      err = path + ":" + std::to_string(lineno) + ": no comma";
      return false;
    }
    auto t = parse_time_us(std::string_view(line).substr(0, comma));
    if (!t) {
      err = path + ":" + std::to_string(lineno) + ": bad timestamp";
      return false;
    }
    const char* b = line.data() + comma + 1;
    const char* e = line.data() + line.size();
    double v = 0.0;
    auto [p, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || !std::isfinite(v)) {
      // NaN would break the threshold sweep's ordering.
      err = path + ":" + std::to_string(lineno) + ": bad number (not a finite value)";
      return false;
    }
    (void)p;
    out.times_us.push_back(*t);
    out.values.push_back(v);
  }
  return true;
}

// One scorable row (outside probation) of one file.
struct Point {
  double score;      // the detector's anomaly score
  double weight;     // the sweep weight (sweeper.py sweepScore)
  int32_t window;    // global window id, or -1 outside every window
  int32_t file;
};

struct FileData {
  std::string name;
  size_t rows = 0;
  size_t probation = 0;
  std::vector<int32_t> windows;  // global ids of the windows with at least one scorable row
};

// sweeper.py calcSweepScore for one file; appends the scorable rows to `points`.
void sweep_file(const Column& data, const std::vector<double>& scores,
                const std::vector<std::pair<int64_t, int64_t>>& limits, const Profile& prof,
                int32_t file, int32_t& next_window, std::vector<Point>& points,
                std::vector<int32_t>& file_windows) {
  const size_t n = data.times_us.size();
  const double max_tp = scaled_sigmoid(-1.0);
  const double probation =
      std::min(std::floor(kProbationPercent * static_cast<double>(n)), kProbationPercent * 5000);
  auto index_of = [&](int64_t t) -> int64_t {
    auto it = std::find(data.times_us.begin(), data.times_us.end(), t);
    return it == data.times_us.end() ? -1 : it - data.times_us.begin();
  };
  size_t next_limit = 0;
  bool in_window = false;
  int64_t cur_right = 0, cur_end_t = 0;
  double cur_width = 0.0;
  int32_t cur_id = -1;
  bool have_prev = false;
  int64_t prev_right = 0;
  double prev_width = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = data.times_us[i];
    if (next_limit < limits.size() && t == limits[next_limit].first) {
      cur_end_t = limits[next_limit].second;
      cur_right = index_of(cur_end_t);
      cur_width = static_cast<double>(cur_right - static_cast<int64_t>(i) + 1);
      cur_id = next_window++;
      in_window = true;
      ++next_limit;
    }
    double weight = 0.0;
    if (in_window) {
      double y = -static_cast<double>(cur_right - static_cast<int64_t>(i) + 1) / cur_width;
      weight = scaled_sigmoid(y) * prof.tp_weight / max_tp;
    } else {
      double y = have_prev ? std::abs(static_cast<double>(prev_right - static_cast<int64_t>(i))) /
                                 (prev_width - 1.0)
                           : 3.0;
      weight = scaled_sigmoid(y) * prof.fp_weight;
    }
    if (static_cast<double>(i) >= probation) {
      int32_t w = in_window ? cur_id : -1;
      points.push_back(Point{scores[i], weight, w, file});
      if (w >= 0 && (file_windows.empty() || file_windows.back() != w)) file_windows.push_back(w);
    }
    if (in_window && t == cur_end_t) {
      have_prev = true;
      prev_right = static_cast<int64_t>(i);
      prev_width = cur_width;
      in_window = false;
    }
  }
}

struct Best {
  double threshold = 1.1;
  double score = 0.0;
};

// sweeper.py calcScoreByThreshold over the whole corpus: sorted by score descending, every
// distinct score is a candidate threshold (detections are rows with score >= threshold).
Best sweep_threshold(std::vector<Point> points, const Profile& prof, size_t n_windows) {
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.score > b.score; });
  std::vector<double> part(n_windows, -prof.fn_weight);
  std::vector<char> counted(n_windows, 0);
  for (const Point& p : points)
    if (p.window >= 0) counted[static_cast<size_t>(p.window)] = 1;
  double fp = 0.0, windows_sum = 0.0;
  for (size_t w = 0; w < n_windows; ++w)
    if (counted[w]) windows_sum += part[w];
  Best best{1.1, windows_sum};  // nothing detected
  size_t i = 0;
  while (i < points.size()) {
    const double thr = points[i].score;
    for (; i < points.size() && points[i].score == thr; ++i) {
      const Point& p = points[i];
      if (p.window < 0) {
        fp += p.weight;
      } else {
        auto w = static_cast<size_t>(p.window);
        if (p.weight > part[w]) {
          windows_sum += p.weight - part[w];
          part[w] = p.weight;
        }
      }
    }
    // NAB keeps the first (highest) threshold of equal scores: strict comparison.
    if (fp + windows_sum > best.score) best = Best{thr, fp + windows_sum};
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scores anomaly-detector output on the NAB rules"};
  std::string data_dir, results_dir;
  bool verbose = false;
  app.add_option("--data", data_dir, "NAB data folder (windows.json and the CSVs)")->required();
  app.add_option("--results", results_dir, "detector output folder (timestamp,score CSVs)")
      ->required();
  app.add_flag("-v,--verbose", verbose, "per-file TP/FP/FN at the chosen threshold");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json windows;
  {
    std::ifstream in(data_dir + "/windows.json");
    if (!in) {
      std::fprintf(stderr, "nab_score: cannot open %s/windows.json\n", data_dir.c_str());
      return 1;
    }
    windows = nlohmann::json::parse(in, nullptr, false);
    if (windows.is_discarded() || !windows.is_object()) {
      std::fprintf(stderr, "nab_score: windows.json is not a JSON object\n");
      return 1;
    }
  }

  struct Loaded {
    std::string name;
    Column data;
    std::vector<double> scores;
    std::vector<std::pair<int64_t, int64_t>> limits;
  };
  std::vector<Loaded> files;
  for (auto it = windows.begin(); it != windows.end(); ++it) {
    Loaded f;
    f.name = it.key();
    std::string err;
    if (!read_csv(data_dir + "/" + f.name, f.data, err)) {
      std::fprintf(stderr, "nab_score: %s\n", err.c_str());
      return 1;
    }
    Column res;
    if (!read_csv(results_dir + "/" + f.name, res, err)) {
      std::fprintf(stderr, "nab_score: %s\n", err.c_str());
      return 1;
    }
    if (res.values.size() != f.data.values.size()) {
      std::fprintf(stderr, "nab_score: %s: %zu result rows for %zu data rows\n", f.name.c_str(),
                   res.values.size(), f.data.values.size());
      return 1;
    }
    f.scores = std::move(res.values);
    for (const auto& w : it.value()) {
      auto a = parse_time_us(w.at(0).get<std::string>());
      auto b = parse_time_us(w.at(1).get<std::string>());
      if (!a || !b) {
        std::fprintf(stderr, "nab_score: %s: bad window timestamp\n", f.name.c_str());
        return 1;
      }
      const auto& ts = f.data.times_us;
      if (std::find(ts.begin(), ts.end(), *a) == ts.end() ||
          std::find(ts.begin(), ts.end(), *b) == ts.end()) {
        // As NAB's sweeper: a window must start and end on rows of its file.
        std::fprintf(stderr, "nab_score: %s: a window limit is not a row timestamp\n", f.name.c_str());
        return 1;
      }
      f.limits.emplace_back(*a, *b);
    }
    std::sort(f.limits.begin(), f.limits.end());
    files.push_back(std::move(f));
  }

  std::printf("%-20s %10s %12s %10s %10s %10s\n", "profile", "score", "threshold", "raw",
              "null", "perfect");
  for (const Profile& prof : kProfiles) {
    std::vector<Point> points;
    std::vector<FileData> meta;
    int32_t n_windows = 0;
    for (size_t fi = 0; fi < files.size(); ++fi) {
      FileData m;
      m.name = files[fi].name;
      m.rows = files[fi].data.values.size();
      sweep_file(files[fi].data, files[fi].scores, files[fi].limits, prof,
                 static_cast<int32_t>(fi), n_windows, points, m.windows);
      meta.push_back(std::move(m));
    }
    // Null: nothing detected, so every window with a scorable row is a miss (NAB's null run).
    // Perfect, as NAB's runner.normalize: every labelled window at the full true positive
    // weight, even one that lies in a probation period.
    size_t counted = 0;
    std::vector<char> seen(static_cast<size_t>(n_windows), 0);
    for (const Point& p : points) {
      if (p.window >= 0 && !seen[static_cast<size_t>(p.window)]) {
        seen[static_cast<size_t>(p.window)] = 1;
        ++counted;
      }
    }
    const double null_score = -prof.fn_weight * static_cast<double>(counted);
    const double perfect_score = prof.tp_weight * static_cast<double>(n_windows);

    Best best = sweep_threshold(points, prof, static_cast<size_t>(n_windows));
    double norm = 100.0 * (best.score - null_score) / (perfect_score - null_score);
    std::printf("%-20s %10.2f %12.6g %10.3f %10.3f %10.3f\n", prof.name, norm, best.threshold,
                best.score, null_score, perfect_score);

    if (verbose) {
      // Per file at the chosen threshold: windows detected (TP), missed (FN), detections
      // outside windows (FP) and the file's raw score.
      struct Tally {
        int tp = 0, fp = 0, fn = 0;
        double score = 0.0;
      };
      std::vector<Tally> tally(files.size());
      std::vector<double> part(static_cast<size_t>(n_windows), -prof.fn_weight);
      std::vector<char> hit(static_cast<size_t>(n_windows), 0);
      for (const Point& p : points) {
        if (p.score < best.threshold) continue;
        if (p.window < 0) {
          ++tally[static_cast<size_t>(p.file)].fp;
          tally[static_cast<size_t>(p.file)].score += p.weight;
        } else {
          auto w = static_cast<size_t>(p.window);
          hit[w] = 1;
          part[w] = std::max(part[w], p.weight);
        }
      }
      for (size_t fi = 0; fi < meta.size(); ++fi) {
        for (int32_t w : meta[fi].windows) {
          auto wi = static_cast<size_t>(w);
          if (hit[wi]) ++tally[fi].tp;
          else ++tally[fi].fn;
          tally[fi].score += part[wi];
        }
        std::printf("  %-58s TP %3d  FP %4d  FN %3d  score %8.3f\n", meta[fi].name.c_str(),
                    tally[fi].tp, tally[fi].fp, tally[fi].fn, tally[fi].score);
      }
    }
  }
  return 0;
}
