//! Inline SVG: the duration sparkline on the status page.

use std::fmt::Write;

use super::layout::Esc;

/// Sparkline width, CSS pixels.
pub const SPARK_WIDTH: f64 = 120.0;
/// Sparkline height, CSS pixels.
pub const SPARK_HEIGHT: f64 = 28.0;
const PAD: f64 = 3.0;

/// A sparkline of run durations, oldest first; `(seconds, failed)` per run.
/// Failed runs get a dot, so the line shows both "slower" and "broke".
/// `label` is the accessible name and tooltip.
pub fn sparkline(runs: &[(f64, bool)], label: &str) -> String {
    let pts = points(
        &runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        SPARK_WIDTH,
        SPARK_HEIGHT,
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"{l}\"><title>{l}</title>",
        w = SPARK_WIDTH,
        h = SPARK_HEIGHT,
        l = Esc(label),
    );
    if pts.len() > 1 {
        out.push_str("<polyline points=\"");
        for (i, (x, y)) in pts.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{x:.1},{y:.1}");
        }
        out.push_str("\"/>");
    }
    for ((x, y), &(_, failed)) in pts.iter().zip(runs) {
        // A lone run has no line to sit on, so it is always drawn as a dot.
        if failed || pts.len() == 1 {
            let class = if failed { "f" } else { "p" };
            let _ = write!(
                out,
                "<circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\"/>"
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Positions of `values` in a `width` x `height` box: evenly spaced left to right,
/// zero at the bottom, the largest value at the top.
pub fn points(values: &[f64], width: f64, height: f64) -> Vec<(f64, f64)> {
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let span_x = width - 2.0 * PAD;
    let span_y = height - 2.0 * PAD;
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = if n == 1 {
                width / 2.0
            } else {
                PAD + span_x * i as f64 / (n - 1) as f64
            };
            let frac = if max > 0.0 && v.is_finite() {
                (v / max).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (x, height - PAD - span_y * frac)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_box_with_the_slowest_run_on_top() {
        let p = points(&[1.0, 2.0, 0.0], 100.0, 20.0);
        assert_eq!(p, vec![(3.0, 10.0), (50.0, 3.0), (97.0, 17.0)]);
        assert_eq!(points(&[5.0], 100.0, 20.0), vec![(50.0, 3.0)]);
        assert!(points(&[], 100.0, 20.0).is_empty());
    }

    #[test]
    fn sparkline_marks_failed_runs_and_escapes_its_label() {
        let svg = sparkline(&[(1.0, false), (2.0, true)], "a<b");
        assert!(svg.contains("<polyline points=\"3.0,"), "{svg}");
        assert_eq!(svg.matches("class=\"f\"").count(), 1, "{svg}");
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"), "{svg}");
    }
}
