// The SVG timeline: one row per node, simulated time left to right. Row bands show the
// step (colour) and height.round (label); lines are frames from send to delivery;
// diamonds are decisions; red crosses are lost frames; shaded columns are partitions. Hovering shows details (SVG <title>).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "bft/sim/trace.hpp"

namespace bft::sim {

namespace {

constexpr double left_margin = 110;
constexpr double right_margin = 30;
constexpr double top_margin = 70;
constexpr double row_height = 46;
constexpr double band_top = 10;     // within a row
constexpr double band_height = 22;

const char* step_colour(Step step) {
  switch (step) {
    case Step::propose: return "#dbe9f6";
    case Step::prevote: return "#d5efd0";
    case Step::precommit: return "#fde3c4";
    case Step::commit: return "#d9d9d9";
  }
  return "#ffffff";
}

const char* message_colour(MessageKind kind) {
  switch (kind) {
    case MessageKind::proposal: return "#1f5fbf";
    case MessageKind::prevote: return "#2ca02c";
    case MessageKind::precommit: return "#e6780a";
    case MessageKind::certificate: return "#8e44ad";
    case MessageKind::status: return "#17becf";
    case MessageKind::sync_request:
    case MessageKind::pruned: return "#7f7f7f";
  }
  return "#000000";
}

const char* message_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::proposal: return "proposal";
    case MessageKind::prevote: return "prevote";
    case MessageKind::precommit: return "precommit";
    case MessageKind::certificate: return "certificate";
    case MessageKind::status: return "status";
    case MessageKind::sync_request: return "sync request";
    case MessageKind::pruned: return "pruned";
  }
  return "?";
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

/// 1, 2 or 5 times a power of ten, so that about `count` ticks span `range`.
double tick_step(double range, double count) {
  const double raw = range / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

class Painter {
 public:
  Painter(const Trace& trace, const TimelineOptions& options, std::ostream& out)
      : trace_(trace), out_(out), max_messages_(options.max_messages) {
    from_ = options.from;
    to_ = options.to != 0 ? options.to : std::max<Time>(trace.end, from_ + 1);
    if (to_ <= from_) to_ = from_ + 1;
    const double span_ms = to_ms(to_ - from_);
    // About 4 px per simulated millisecond, within [800, max_width] px of plot.
    plot_width_ = std::clamp(span_ms * 4.0, 800.0, std::max(800.0, options.max_width_px));
    rows_ = trace.node_names.size();
    height_ = top_margin + static_cast<double>(rows_) * row_height + 70 +
              14.0 * static_cast<double>(std::min<std::size_t>(trace.violations.size(), 10));
  }

  void paint() {
    const double width = left_margin + plot_width_ + right_margin;
    out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fixed(width, 0) << "\" height=\""
         << fixed(height_, 0) << "\" font-family=\"monospace\" font-size=\"11\">\n";
    out_ << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    out_ << "<text x=\"10\" y=\"20\" font-size=\"14\">bft-sim seed " << trace_.seed << ", " << rows_
         << " nodes, fault: " << escape(trace_.fault) << ", " << fixed(to_ms(from_), 1) << " .. "
         << fixed(to_ms(to_), 1) << " ms simulated</text>\n";
    partitions();
    axis();
    rows();
    messages();
    decisions();
    evidence();
    legend();
    out_ << "</svg>\n";
  }

 private:
  bool visible(Time t) const { return t >= from_ && t <= to_; }
  double x(Time t) const {
    const Time clamped = std::clamp(t, from_, to_);
    return left_margin + plot_width_ * static_cast<double>(clamped - from_) / static_cast<double>(to_ - from_);
  }
  double row_y(std::uint32_t node) const { return top_margin + row_height * node; }
  double mid_y(std::uint32_t node) const { return row_y(node) + band_top + band_height / 2; }

  void partitions() {
    for (const Partition& p : trace_.partitions) {
      if (p.end < from_ || p.start > to_) continue;
      out_ << "<rect x=\"" << fixed(x(p.start)) << "\" y=\"" << fixed(top_margin - 6) << "\" width=\""
           << fixed(std::max(1.0, x(p.end) - x(p.start))) << "\" height=\""
           << fixed(row_height * static_cast<double>(rows_) + 6) << "\" fill=\"#f3c6c6\" opacity=\"0.35\"><title>partition "
           << escape(describe(p)) << "</title></rect>\n";
    }
  }

  void axis() {
    const double span_ms = to_ms(to_ - from_);
    const double step = tick_step(span_ms, plot_width_ / 120);
    const double bottom = top_margin + row_height * static_cast<double>(rows_);
    for (double t = std::ceil(to_ms(from_) / step) * step; t <= to_ms(to_); t += step) {
      const double px = x(static_cast<Time>(std::llround(t * micros_per_ms)));
      out_ << "<line x1=\"" << fixed(px) << "\" y1=\"" << fixed(top_margin - 12) << "\" x2=\"" << fixed(px)
           << "\" y2=\"" << fixed(bottom) << "\" stroke=\"#eeeeee\"/>";
      out_ << "<text x=\"" << fixed(px + 2) << "\" y=\"" << fixed(top_margin - 16) << "\" fill=\"#666\">"
           << fixed(t, step < 1 ? 2 : 0) << " ms</text>\n";
    }
  }

  void rows() {
    for (std::uint32_t node = 0; node < rows_; ++node) {
      const bool byzantine = node < trace_.byzantine.size() && trace_.byzantine[node];
      out_ << "<text x=\"8\" y=\"" << fixed(mid_y(node) + 4) << "\" fill=\"" << (byzantine ? "#c0392b" : "#000")
           << "\">" << escape(trace_.node_names[node]) << (byzantine ? " (byz)" : "") << "</text>\n";
    }
    // Steps of each node, in time order: a band from each change to the next.
    std::vector<std::vector<const Trace::StepChange*>> per_node(rows_);
    for (const auto& s : trace_.steps)
      if (s.node < rows_) per_node[s.node].push_back(&s);
    for (std::uint32_t node = 0; node < rows_; ++node) {
      const auto& changes = per_node[node];
      for (std::size_t i = 0; i < changes.size(); ++i) {
        const Trace::StepChange& s = *changes[i];
        const Time end = i + 1 < changes.size() ? changes[i + 1]->at : trace_.end;
        if (end < from_ || s.at > to_) continue;
        const double x0 = x(s.at);
        const double w = std::max(0.5, x(end) - x0);
        out_ << "<rect x=\"" << fixed(x0) << "\" y=\"" << fixed(row_y(node) + band_top) << "\" width=\"" << fixed(w)
             << "\" height=\"" << band_height << "\" fill=\"" << step_colour(s.step) << "\"><title>"
             << escape(trace_.node_names[node]) << " h=" << s.height << " r=" << s.round << " "
             << to_string(s.step) << " from " << fixed(to_ms(s.at), 3) << " ms</title></rect>";
        const bool new_round = i == 0 || changes[i - 1]->round != s.round || changes[i - 1]->height != s.height;
        if (new_round && w > 28)
          out_ << "<text x=\"" << fixed(x0 + 2) << "\" y=\"" << fixed(row_y(node) + band_top + 15) << "\" fill=\""
               << (s.round > 0 ? "#b00" : "#333") << "\">" << s.height << "." << s.round << "</text>";
        out_ << "\n";
      }
    }
  }

  void messages() {
    std::size_t drawn = 0;
    std::size_t skipped = 0;
    for (const auto& m : trace_.messages) {
      if (!visible(m.sent) && !visible(m.delivered)) continue;
      if (drawn >= max_messages_) {
        ++skipped;
        continue;
      }
      ++drawn;
      if (m.dropped) {
        const double cx = x(m.sent);
        const double cy = mid_y(m.from);
        out_ << "<path d=\"M" << fixed(cx - 3) << "," << fixed(cy - 3) << "l6,6m0,-6l-6,6\" stroke=\"#d62728\"><title>"
             << message_name(m.kind) << " h=" << m.height << " r=" << m.round << " " << trace_.node_names[m.from]
             << " -> " << trace_.node_names[m.to] << " lost</title></path>\n";
        continue;
      }
      out_ << "<line x1=\"" << fixed(x(m.sent)) << "\" y1=\"" << fixed(mid_y(m.from)) << "\" x2=\""
           << fixed(x(m.delivered)) << "\" y2=\"" << fixed(mid_y(m.to)) << "\" stroke=\"" << message_colour(m.kind)
           << "\" stroke-opacity=\"0.45\"" << (m.nil ? " stroke-dasharray=\"3,2\"" : "") << "><title>"
           << message_name(m.kind) << (m.nil ? " nil" : "") << " h=" << m.height << " r=" << m.round << " "
           << trace_.node_names[m.from] << " -> " << trace_.node_names[m.to] << " " << fixed(to_ms(m.sent), 3)
           << " .. " << fixed(to_ms(m.delivered), 3) << " ms</title></line>\n";
    }
    if (skipped > 0)
      out_ << "<text x=\"" << fixed(left_margin) << "\" y=\"40\" fill=\"#c0392b\">" << skipped
           << " more messages not drawn (narrow the window with --timeline-window)</text>\n";
  }

  void decisions() {
    for (const auto& d : trace_.decisions) {
      if (!visible(d.at) || d.node >= rows_) continue;
      const double cx = x(d.at);
      const double cy = mid_y(d.node);
      out_ << "<path d=\"M" << fixed(cx) << "," << fixed(cy - 7) << "l6,7l-6,7l-6,-7z\" fill=\"#111\"><title>"
           << escape(trace_.node_names[d.node]) << " decided h=" << d.height << " r=" << d.round << ": "
           << escape(d.value) << " at " << fixed(to_ms(d.at), 3) << " ms</title></path>";
      out_ << "<text x=\"" << fixed(cx - 4) << "\" y=\"" << fixed(row_y(d.node) + band_top + band_height + 12)
           << "\" font-size=\"9\">" << d.height << "</text>\n";
    }
  }

  void evidence() {
    for (const auto& e : trace_.evidence) {
      if (!visible(e.at) || e.observer >= rows_) continue;
      out_ << "<text x=\"" << fixed(x(e.at) - 3) << "\" y=\"" << fixed(row_y(e.observer) + 8)
           << "\" fill=\"#c0392b\" font-weight=\"bold\">!<title>" << escape(trace_.node_names[e.observer])
           << " has evidence against " << escape(trace_.node_names[e.offender]) << "</title></text>\n";
    }
  }

  void legend() {
    double lx = left_margin;
    const double ly = top_margin + row_height * static_cast<double>(rows_) + 24;
    for (Step s : {Step::propose, Step::prevote, Step::precommit, Step::commit}) {
      out_ << "<rect x=\"" << fixed(lx) << "\" y=\"" << fixed(ly - 10) << "\" width=\"14\" height=\"12\" fill=\""
           << step_colour(s) << "\"/><text x=\"" << fixed(lx + 18) << "\" y=\"" << fixed(ly) << "\">"
           << to_string(s) << "</text>\n";
      lx += 100;
    }
    for (MessageKind k : {MessageKind::proposal, MessageKind::prevote, MessageKind::precommit, MessageKind::certificate,
                          MessageKind::status, MessageKind::sync_request}) {
      out_ << "<line x1=\"" << fixed(lx) << "\" y1=\"" << fixed(ly - 4) << "\" x2=\"" << fixed(lx + 16) << "\" y2=\""
           << fixed(ly - 4) << "\" stroke=\"" << message_colour(k) << "\" stroke-width=\"2\"/><text x=\""
           << fixed(lx + 20) << "\" y=\"" << fixed(ly) << "\">" << message_name(k) << "</text>\n";
      lx += 110;
    }
    out_ << "<text x=\"" << fixed(left_margin) << "\" y=\"" << fixed(ly + 18)
         << "\" fill=\"#444\">h.r = height.round (red: round &gt; 0)   dashed = nil vote   "
            "&#9670; = decision   x = lost   ! = evidence   shaded = partition</text>\n";
    double vy = ly + 36;
    std::size_t shown = 0;
    for (const std::string& v : trace_.violations) {
      if (shown++ == 10) break;
      out_ << "<text x=\"" << fixed(left_margin) << "\" y=\"" << fixed(vy) << "\" fill=\"#c0392b\">VIOLATION "
           << escape(v) << "</text>\n";
      vy += 14;
    }
  }

  const Trace& trace_;
  std::ostream& out_;
  std::size_t max_messages_;
  Time from_ = 0;
  Time to_ = 0;
  double plot_width_ = 0;
  double height_ = 0;
  std::size_t rows_ = 0;
};

}  // namespace

void write_timeline_svg(const Trace& trace, std::ostream& out, const TimelineOptions& options) {
  Painter(trace, options, out).paint();
}

}  // namespace bft::sim
