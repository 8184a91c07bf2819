//! `bench-report`: draws the comparison plots (SVG) from the summary the comparison script
//! writes. Usage: `bench-report SUMMARY.json OUT_DIR`.
//!
//! Summary format (medians over rounds):
//! `{"a": "nats-server", "b": "corenats",
//!   "throughput": [{"scenario": "pubsub", "size": 16, "a": 1.0e6, "b": 1.2e6}, ...],
//!   "latency": [{"name": "reqrep in-flight 1, 128 B", "a": {"p50": 30.0, "p90": ..,
//!               "p99": .., "p999": .., "max": ..}, "b": {...}}, ...]}`
//! Rates are messages per second, latencies microseconds; a missing or non-positive value
//! (a failed run) is left out of the plot. Writes `throughput.svg` and `latency.svg`.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct Summary {
    a: String,
    b: String,
    #[serde(default)]
    throughput: Vec<Throughput>,
    #[serde(default)]
    latency: Vec<LatencyRow>,
}

#[derive(Debug, Deserialize)]
struct Throughput {
    scenario: String,
    size: usize,
    a: Option<f64>,
    b: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct LatencyRow {
    name: String,
    a: Option<BTreeMap<String, f64>>,
    b: Option<BTreeMap<String, f64>>,
}

/// One small chart: categories on x, up to two series (A, B) on a log y axis.
struct Panel {
    title: String,
    categories: Vec<String>,
    a: Vec<Option<f64>>,
    b: Vec<Option<f64>>,
    y_desc: &'static str,
    /// Where the legend goes (away from where the lines usually are).
    legend: SeriesLabelPosition,
}

const PERCENTILES: [(&str, &str); 5] = [
    ("p50", "p50"),
    ("p90", "p90"),
    ("p99", "p99"),
    ("p999", "p99.9"),
    ("max", "max"),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: bench-report SUMMARY.json OUT_DIR");
        std::process::exit(2);
    }
    if let Err(e) = run(Path::new(&args[1]), Path::new(&args[2])) {
        eprintln!("bench-report: {e}");
        std::process::exit(1);
    }
}

fn run(input: &Path, out_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let summary: Summary =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    std::fs::create_dir_all(out_dir)?;
    let names = (summary.a.as_str(), summary.b.as_str());
    let throughput = throughput_panels(&summary.throughput);
    if !throughput.is_empty() {
        let title = format!("Throughput by payload size ({} vs {})", names.0, names.1);
        draw(&out_dir.join("throughput.svg"), &title, &throughput, names)?;
    }
    let latency: Vec<Panel> = summary.latency.iter().map(latency_panel).collect();
    if !latency.is_empty() {
        let title = format!("Latency percentiles ({} vs {})", names.0, names.1);
        draw(&out_dir.join("latency.svg"), &title, &latency, names)?;
    }
    Ok(())
}

/// One panel per scenario, payload sizes ascending on x.
fn throughput_panels(rows: &[Throughput]) -> Vec<Panel> {
    let mut order: Vec<&str> = Vec::new();
    for r in rows {
        if !order.contains(&r.scenario.as_str()) {
            order.push(&r.scenario);
        }
    }
    order
        .into_iter()
        .map(|scenario| {
            let mut mine: Vec<&Throughput> =
                rows.iter().filter(|r| r.scenario == scenario).collect();
            mine.sort_by_key(|r| r.size);
            Panel {
                title: scenario.to_string(),
                categories: mine.iter().map(|r| size_label(r.size)).collect(),
                a: mine.iter().map(|r| r.a).collect(),
                b: mine.iter().map(|r| r.b).collect(),
                y_desc: "msgs/s",
                legend: SeriesLabelPosition::UpperRight,
            }
        })
        .collect()
}

fn latency_panel(row: &LatencyRow) -> Panel {
    let pick = |m: &Option<BTreeMap<String, f64>>| {
        PERCENTILES
            .iter()
            .map(|(k, _)| m.as_ref().and_then(|m| m.get(*k).copied()))
            .collect()
    };
    Panel {
        title: row.name.clone(),
        categories: PERCENTILES.iter().map(|(_, l)| l.to_string()).collect(),
        a: pick(&row.a),
        b: pick(&row.b),
        y_desc: "microseconds",
        legend: SeriesLabelPosition::UpperLeft,
    }
}

fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

fn draw(
    path: &Path,
    title: &str,
    panels: &[Panel],
    names: (&str, &str),
) -> Result<(), Box<dyn std::error::Error>> {
    let cols = if panels.len() > 1 { 2 } else { 1 };
    let rows = panels.len().div_ceil(cols);
    let size = (520 * cols as u32, 40 + 320 * rows as u32);
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel, names)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    p: &Panel,
    names: (&str, &str),
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let values: Vec<f64> =
        p.a.iter()
            .chain(&p.b)
            .flatten()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if values.is_empty() {
        (1.0, 10.0)
    } else {
        (lo / 2.0, hi * 2.0)
    };
    let n = p.categories.len() as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (0..n.saturating_sub(1)).into_segmented(),
            (lo..hi).log_scale(),
        )?;
    let cats = p.categories.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(cats.len().max(1))
        .x_label_formatter(&move |v| match v {
            SegmentValue::CenterOf(i) => cats.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc(p.y_desc)
        .y_label_formatter(&|v| short(*v))
        .draw()?;
    let series = [(&p.a, names.0, BLUE), (&p.b, names.1, RED)];
    for (data, name, color) in series {
        let pts: Vec<(SegmentValue<u32>, f64)> = data
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.filter(|v| *v > 0.0)
                    .map(|v| (SegmentValue::CenterOf(i as u32), v))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(pts.into_iter().map(|pt| Circle::new(pt, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(p.legend.clone())
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// 1234567.0 -> "1.2M".
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
