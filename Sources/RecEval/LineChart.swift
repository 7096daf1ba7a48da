import Foundation
import RecData

/// A line chart drawn as SVG elements: axes with ticks and tick labels, axis titles, one
/// `<polyline>` plus a dot per point for each series, and a legend.
///
/// The y range is widened to whole tick steps (1, 2 or 5 × 10ⁿ); the x range is the data's
/// own, with whole-number ticks (x is an epoch).
struct LineChart {
    struct Series {
        /// Shown in the legend.
        let name: String
        /// CSS class giving the series its colour (`loss`, `train`, `validation`).
        let cssClass: String
        let points: [(x: Double, y: Double)]
    }

    let title: String
    let xLabel: String
    let yLabel: String
    let series: [Series]

    /// Space around the plot area for the title, tick labels and axis titles.
    private static let margin = (left: 64.0, right: 16.0, top: 48.0, bottom: 46.0)

    /// The chart as a `<g class="chart">` placed at (`left`, `top`) in the enclosing SVG.
    func svg(left: Double, top: Double, width: Double, height: Double) -> String {
        let m = Self.margin
        let plot = (x0: left + m.left, x1: left + width - m.right, y0: top + height - m.bottom, y1: top + m.top)
        let all = series.flatMap(\.points)
        var xs = (lo: all.map(\.x).min() ?? 0, hi: all.map(\.x).max() ?? 1)
        if xs.hi - xs.lo < 1 { xs = (xs.lo - 1, xs.hi + 1) }
        let xStep = max(1, Self.niceStep(xs.hi - xs.lo))
        var ys = (lo: all.map(\.y).min() ?? 0, hi: all.map(\.y).max() ?? 1)
        if ys.hi - ys.lo < 1e-9 {
            let pad = max(abs(ys.lo) * 0.05, 0.05)
            ys = (ys.lo - pad, ys.hi + pad)
        }
        let yStep = Self.niceStep(ys.hi - ys.lo)
        ys = ((ys.lo / yStep).rounded(.down) * yStep, (ys.hi / yStep).rounded(.up) * yStep)

        func px(_ x: Double) -> Double { plot.x0 + (x - xs.lo) / (xs.hi - xs.lo) * (plot.x1 - plot.x0) }
        func py(_ y: Double) -> Double { plot.y0 - (y - ys.lo) / (ys.hi - ys.lo) * (plot.y0 - plot.y1) }

        var out = "<g class=\"chart\" data-title=\"\(HTML.escape(title))\">\n"
        out += "<text class=\"chart-title\" x=\"\(c(left + width / 2))\" y=\"\(c(top + 18))\" text-anchor=\"middle\">\(HTML.escape(title))</text>\n"
        // Axes, then ticks with their labels and light grid lines.
        out += "<line class=\"axis\" x1=\"\(c(plot.x0))\" y1=\"\(c(plot.y0))\" x2=\"\(c(plot.x1))\" y2=\"\(c(plot.y0))\"/>\n"
        out += "<line class=\"axis\" x1=\"\(c(plot.x0))\" y1=\"\(c(plot.y0))\" x2=\"\(c(plot.x0))\" y2=\"\(c(plot.y1))\"/>\n"
        for x in Self.ticks(xs.lo, xs.hi, step: xStep) {
            out += "<line class=\"tick\" x1=\"\(c(px(x)))\" y1=\"\(c(plot.y0))\" x2=\"\(c(px(x)))\" y2=\"\(c(plot.y0 + 5))\"/>"
            out += "<text class=\"tick-label\" x=\"\(c(px(x)))\" y=\"\(c(plot.y0 + 18))\" text-anchor=\"middle\">\(Self.label(x, step: xStep))</text>\n"
        }
        for y in Self.ticks(ys.lo, ys.hi, step: yStep) {
            out += "<line class=\"grid\" x1=\"\(c(plot.x0))\" y1=\"\(c(py(y)))\" x2=\"\(c(plot.x1))\" y2=\"\(c(py(y)))\"/>"
            out += "<line class=\"tick\" x1=\"\(c(plot.x0 - 5))\" y1=\"\(c(py(y)))\" x2=\"\(c(plot.x0))\" y2=\"\(c(py(y)))\"/>"
            out += "<text class=\"tick-label\" x=\"\(c(plot.x0 - 8))\" y=\"\(c(py(y) + 4))\" text-anchor=\"end\">\(Self.label(y, step: yStep))</text>\n"
        }
        out += "<text class=\"axis-label\" x=\"\(c((plot.x0 + plot.x1) / 2))\" y=\"\(c(top + height - 8))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
        let yMid = (plot.y0 + plot.y1) / 2
        out += "<text class=\"axis-label\" x=\"\(c(left + 14))\" y=\"\(c(yMid))\" text-anchor=\"middle\" transform=\"rotate(-90 \(c(left + 14)) \(c(yMid)))\">\(HTML.escape(yLabel))</text>\n"
        // Series: a polyline through every point, a dot with a tooltip on each.
        for s in series {
            let points = s.points.map { "\(c(px($0.x))),\(c(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"series \(HTML.escape(s.cssClass))\" data-series=\"\(HTML.escape(s.name))\" points=\"\(points)\"/>\n"
            for p in s.points {
                out += "<circle class=\"point \(HTML.escape(s.cssClass))\" cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"2.5\">"
                out += "<title>\(HTML.escape(s.name)), epoch \(Self.label(p.x, step: 1)): \(RecommendationExport.fixed(p.y, digits: 4))</title></circle>\n"
            }
        }
        // Legend: one swatch and name per series, in a row under the title.
        var x = plot.x0
        for s in series {
            out += "<line class=\"legend-swatch \(HTML.escape(s.cssClass))\" x1=\"\(c(x))\" y1=\"\(c(top + 34))\" x2=\"\(c(x + 18))\" y2=\"\(c(top + 34))\"/>"
            out += "<text class=\"legend\" x=\"\(c(x + 24))\" y=\"\(c(top + 38))\">\(HTML.escape(s.name))</text>\n"
            x += 36 + 7 * Double(s.name.count)
        }
        return out + "</g>\n"
    }

    /// A coordinate with one decimal.
    private func c(_ x: Double) -> String { RecommendationExport.fixed(x, digits: 1) }

    /// The step of about five ticks over `range`: 1, 2 or 5 × 10ⁿ.
    static func niceStep(_ range: Double) -> Double {
        let raw = max(range, 1e-12) / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    /// Multiples of `step` inside `lo ... hi` (with a little slack for rounding).
    static func ticks(_ lo: Double, _ hi: Double, step: Double) -> [Double] {
        let first = Int((lo / step - 1e-9).rounded(.up)), last = Int((hi / step + 1e-9).rounded(.down))
        return first <= last ? (first...last).map { Double($0) * step } : []
    }

    /// A tick value with as many decimals as the step needs.
    static func label(_ x: Double, step: Double) -> String {
        RecommendationExport.fixed(x, digits: max(0, -Int(log10(step).rounded(.down))))
    }
}
