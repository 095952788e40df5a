//! `certs check-expiration` (§N.4): when each renewable certificate (see [`super::renew`]) and each CA expires,
//! whether its CA is externally managed, and kubeadm's text table (or the 1.31+ structured form) of that.

use serde::Serialize;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use super::issue::LoadedCert;
use super::renew::{CAS, ca_external, load_target, renewables};
use super::{crt_path, external_etcd, load_cert};
use crate::Error;
use crate::config::ClusterConfiguration;
use crate::go_format::table::tabwriter;
use crate::go_format::time::{format_rfc3339_utc, short_human_duration};
use crate::plan::NodeView;

/// One row of `check-expiration`: a certificate or a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationInfo {
    /// `apiserver`, `admin.conf`, `etcd-ca`, …
    pub name: String,
    /// NotAfter; `None` when the file is missing.
    pub expires: Option<OffsetDateTime>,
    /// The signing CA's name (`ca`, `etcd-ca`, `front-proxy-ca`); `None` for CA rows.
    pub ca_name: Option<String>,
    /// The signing CA (or, for a CA row, the CA itself) has no key on the node.
    pub externally_managed: bool,
}

/// Both tables of `check-expiration`, rows sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationReport {
    /// Leaf certificates and kubeconfig client certificates.
    pub certificates: Vec<ExpirationInfo>,
    /// The CAs.
    pub authorities: Vec<ExpirationInfo>,
}

fn not_after(cert: &LoadedCert) -> Result<OffsetDateTime, Error> {
    Ok(cert.x509()?.validity().not_after.to_datetime())
}

/// Reads every renewable certificate and every CA of this configuration (kubeconfigs under `kubeconfig_dir`).
pub fn check_expiration(
    cluster: &ClusterConfiguration,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
) -> Result<ExpirationReport, Error> {
    let mut certificates = Vec::new();
    for r in renewables(cluster, kubeconfig_dir) {
        let expires = load_target(cluster, &r.target, view)?.map(|c| not_after(&c)).transpose()?;
        certificates.push(ExpirationInfo {
            name: r.name.to_string(),
            expires,
            ca_name: Some(r.ca_name.to_string()),
            externally_managed: ca_external(cluster, view, r.ca_base),
        });
    }
    let mut authorities = Vec::new();
    for (name, base, etcd) in CAS {
        if etcd && external_etcd(cluster) {
            continue;
        }
        let expires = load_cert(view, &crt_path(cluster, base))?.map(|c| not_after(&c)).transpose()?;
        authorities.push(ExpirationInfo {
            name: name.to_string(),
            expires,
            ca_name: None,
            externally_managed: ca_external(cluster, view, base),
        });
    }
    Ok(ExpirationReport { certificates, authorities })
}

/// Go's `Format("Jan 02, 2006 15:04 MST")` of a UTC time.
pub fn format_expiry(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = t.to_offset(UtcOffset::UTC);
    let month = MONTHS[usize::from(u8::from(t.month())).saturating_sub(1) % 12];
    format!("{month} {:02}, {:04} {:02}:{:02} UTC", t.day(), t.year(), t.hour(), t.minute())
}

fn yes_no(b: bool) -> String {
    // kubeadm prints this last column with %-8v
    format!("{:<8}", if b { "yes" } else { "no" })
}

/// The text of `certs check-expiration` (§N.4): both tables, aligned as Go's `tabwriter(10, 4, 3, ' ')` aligns
/// them (the blank line between them ends the first table's column blocks), missing files as `!MISSING! <name>`.
pub fn expiration_text(report: &ExpirationReport, now: OffsetDateTime) -> String {
    let header = |cells: &[&str]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut certs =
        vec![header(&["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"])];
    for c in &report.certificates {
        certs.push(match c.expires {
            Some(e) => vec![
                c.name.clone(),
                format_expiry(e),
                short_human_duration(e - now),
                c.ca_name.clone().unwrap_or_default(),
                yes_no(c.externally_managed),
            ],
            None => vec![format!("!MISSING! {}", c.name), String::new(), String::new(), String::new(), String::new()],
        });
    }
    let mut cas = vec![header(&["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"])];
    for c in &report.authorities {
        cas.push(match c.expires {
            Some(e) => {
                vec![c.name.clone(), format_expiry(e), short_human_duration(e - now), yes_no(c.externally_managed)]
            }
            None => vec![format!("!MISSING! {}", c.name), String::new(), String::new(), String::new()],
        });
    }
    format!("{}\n{}", tabwriter(&certs, 10, 3), tabwriter(&cas, 10, 3))
}

/// One row of the structured form, in the field order of kubeadm's `output.kubeadm.k8s.io/v1alpha3`
/// `Certificate` (`cmd/kubeadm/app/apis/output/v1alpha3/types.go`): `expirationDate` is a `metav1.Time`
/// (RFC 3339 in UTC, `null` when missing), `residualTime` whole seconds (Go's `ResidualTimeSeconds`), `caName`
/// omitted when empty (CA rows and missing rows).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateRow<'a> {
    name: &'a str,
    expiration_date: Option<String>,
    residual_time: i64,
    externally_managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_name: Option<&'a str>,
    missing: bool,
}

/// kubeadm's `CertificateExpirationInfo` (TypeMeta inline first: kind, apiVersion).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateExpirationInfo<'a> {
    kind: &'static str,
    api_version: &'static str,
    certificates: Vec<CertificateRow<'a>>,
    certificate_authorities: Vec<CertificateRow<'a>>,
}

/// kubeadm's `fetchCertificateExpirationInfo` row: a missing file gives a row with only its name and `missing`.
fn row(c: &ExpirationInfo, now: OffsetDateTime) -> CertificateRow<'_> {
    match c.expires {
        Some(e) => CertificateRow {
            name: &c.name,
            expiration_date: Some(format_rfc3339_utc(e)),
            residual_time: (e - now).whole_seconds(),
            externally_managed: c.externally_managed,
            ca_name: c.ca_name.as_deref(),
            missing: false,
        },
        None => CertificateRow {
            name: &c.name,
            expiration_date: None,
            residual_time: 0,
            externally_managed: false,
            ca_name: None,
            missing: true,
        },
    }
}

fn structured(report: &ExpirationReport, now: OffsetDateTime) -> CertificateExpirationInfo<'_> {
    CertificateExpirationInfo {
        kind: "CertificateExpirationInfo",
        api_version: "output.kubeadm.k8s.io/v1alpha3",
        certificates: report.certificates.iter().map(|c| row(c, now)).collect(),
        certificate_authorities: report.authorities.iter().map(|c| row(c, now)).collect(),
    }
}

/// The structured form of the report (1.31+ `-o json|yaml`) as a JSON value (for the YAML printer, which sorts
/// keys as kubectl's does).
pub fn expiration_value(report: &ExpirationReport, now: OffsetDateTime) -> Value {
    serde_json::to_value(structured(report, now)).unwrap_or(Value::Null)
}

/// `-o json` as kubectl's JSON printer writes it (which kubeadm uses): Go's field order, 4-space indent, a
/// final newline.
pub fn expiration_json(report: &ExpirationReport, now: OffsetDateTime) -> Result<String, Error> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    structured(report, now).serialize(&mut ser).map_err(|e| Error::Encode(e.to_string()))?;
    buf.push(b'\n');
    String::from_utf8(buf).map_err(|e| Error::Encode(e.to_string()))
}
