//! The quality report's lines (see `scripts/quality`).

/// Notes one figure of a held-out evaluation, with the floor its test holds it to.
pub fn report(area: &str, measure: &str, value: f64, floor: Option<f64>) {
    let floor = floor.map_or_else(|| "-".to_owned(), |floor| format!("{floor:.2}"));
    let line = format!("quality\t{area}\t{measure}\t{value:.3}\t{floor}\n");
    print!("{line}");
    if let Some(path) = std::env::var_os("COPILOT_QUALITY_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("the quality report");
        file.write_all(line.as_bytes()).expect("the quality report is written");
    }
}
