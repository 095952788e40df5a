//! Go's `text/tabwriter` as kubeadm configures it for its tables (`token list`, `certs check-expiration`):
//! space padding, every cell but a row's last one padded to the column's width.

/// Go's tabwriter for rows whose cells are all tab-terminated except the last: each column but the last is padded
/// with spaces to `max(minwidth, widest cell + padding)`; the last cell is written as is.
pub fn tabwriter(rows: &[Vec<String>], minwidth: usize, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.saturating_sub(1))
        .map(|c| {
            let widest = rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0);
            (widest + padding).max(minwidth)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = widths.get(i).filter(|_| i + 1 < row.len()) {
                out.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}
