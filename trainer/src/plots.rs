//! PNG plots of a training run: loss and validation NDCG@10 per epoch.

use std::path::Path;
use std::sync::Once;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::training::History;

static FONT: Once = Once::new();

/// Plotters draws text with fonts registered in-process; the DejaVu font ships in the binary.
fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws one series per epoch into a PNG.
fn line_plot(path: &Path, title: &str, y_label: &str, points: &[(f64, f64)]) -> anyhow::Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let x_max = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let (y_min, y_max) =
        points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let pad = ((y_max - y_min) * 0.1).max(1e-6);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(1.0..x_max.max(2.0), (y_min - pad)..(y_max + pad))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart.draw_series(LineSeries::new(points.iter().copied(), BLUE.stroke_width(2))).map_err(|e| anyhow!("{e}"))?;
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, BLUE.filled()))).map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

/// Writes `loss.png` and `valid_ndcg10.png` into `dir`.
pub fn training_curves(history: &History, dir: &Path) -> anyhow::Result<()> {
    if history.epochs.is_empty() {
        return Ok(());
    }
    let loss: Vec<(f64, f64)> = history.epochs.iter().map(|e| (e.epoch as f64, e.loss)).collect();
    let ndcg: Vec<(f64, f64)> = history.epochs.iter().map(|e| (e.epoch as f64, e.valid.ndcg10)).collect();
    line_plot(&dir.join("loss.png"), "Training loss (cross-entropy)", "loss", &loss)?;
    line_plot(&dir.join("valid_ndcg10.png"), "Validation NDCG@10 (full ranking, masked)", "NDCG@10", &ndcg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::EpochLog;
    use pocketrank_model::MetricSet;

    #[test]
    fn writes_both_curves_as_png() {
        let epochs = (1..=4)
            .map(|e| EpochLog {
                epoch: e,
                loss: 8.0 / e as f64,
                valid: MetricSet { ndcg10: 0.01 * e as f64, ..MetricSet::default() },
                train_seconds: 1.0,
                valid_seconds: 1.0,
                targets_per_second: 1.0,
            })
            .collect();
        let history = History { epochs, best_epoch: Some(4), best_ndcg10: 0.04, stopped: None };
        let dir = tempfile::tempdir().unwrap();
        training_curves(&history, dir.path()).unwrap();
        for name in ["loss.png", "valid_ndcg10.png"] {
            let bytes = std::fs::read(dir.path().join(name)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000, "{name}: {} bytes", bytes.len());
        }
    }
}
