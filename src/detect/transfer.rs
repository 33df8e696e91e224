//! What file transfers over the network look like to detection: the cloud object stores and
//! file-sharing services attackers stage tools on and drop stolen data into, file names in
//! URIs, the body kinds that run code, and sizes as an analyst reads them.
//!
//! Shared by `exfil` (uploads) and `payload-download` (downloads). Pure data and pure
//! functions over names; no evidence is read here.

use super::domain;

/// A storage or file-sharing service, by the name suffix its endpoints live under.
struct Service {
    /// A name matches when it is this suffix or a name below it.
    suffix: &'static str,
    provider: &'static str,
}

/// Cloud object storage and anonymous file-sharing endpoints.
///
/// Sources: the providers' own endpoint documentation (Amazon S3 "endpoints and quotas",
/// Google Cloud Storage "request endpoints", Azure Storage "storage account endpoints",
/// Cloudflare R2, DigitalOcean Spaces, Backblaze B2, Wasabi, Linode Object Storage), the
/// services ATT&CK names for T1567.002 (Exfiltration to Cloud Storage) and T1105 (Ingress Tool
/// Transfer), and the file-sharing sites of the LOTS project (lots-project.com) seen in
/// intrusion reports. Amazon's regional S3 names (`s3.eu-west-1.amazonaws.com`,
/// `bucket.s3-us-west-2.amazonaws.com`) are matched by [`s3_label`], not listed.
const SERVICES: &[Service] = &[
    Service { suffix: "s3.amazonaws.com", provider: "Amazon S3" },
    Service { suffix: "storage.googleapis.com", provider: "Google Cloud Storage" },
    Service { suffix: "storage.cloud.google.com", provider: "Google Cloud Storage" },
    Service { suffix: "firebasestorage.googleapis.com", provider: "Firebase Storage" },
    Service { suffix: "blob.core.windows.net", provider: "Azure Blob Storage" },
    Service { suffix: "r2.cloudflarestorage.com", provider: "Cloudflare R2" },
    Service { suffix: "r2.dev", provider: "Cloudflare R2" },
    Service { suffix: "digitaloceanspaces.com", provider: "DigitalOcean Spaces" },
    Service { suffix: "backblazeb2.com", provider: "Backblaze B2" },
    Service { suffix: "wasabisys.com", provider: "Wasabi" },
    Service { suffix: "linodeobjects.com", provider: "Linode Object Storage" },
    Service { suffix: "dropbox.com", provider: "Dropbox" },
    Service { suffix: "dropboxapi.com", provider: "Dropbox" },
    Service { suffix: "dropboxusercontent.com", provider: "Dropbox" },
    Service { suffix: "mega.nz", provider: "MEGA" },
    Service { suffix: "mega.co.nz", provider: "MEGA" },
    Service { suffix: "mega.io", provider: "MEGA" },
    Service { suffix: "drive.google.com", provider: "Google Drive" },
    Service { suffix: "drive.usercontent.google.com", provider: "Google Drive" },
    Service { suffix: "onedrive.live.com", provider: "OneDrive" },
    Service { suffix: "1drv.ms", provider: "OneDrive" },
    Service { suffix: "box.com", provider: "Box" },
    Service { suffix: "pcloud.com", provider: "pCloud" },
    Service { suffix: "transfer.sh", provider: "transfer.sh" },
    Service { suffix: "file.io", provider: "file.io" },
    Service { suffix: "anonfiles.com", provider: "AnonFiles" },
    Service { suffix: "anonfile.la", provider: "AnonFiles" },
    Service { suffix: "gofile.io", provider: "Gofile" },
    Service { suffix: "catbox.moe", provider: "Catbox" },
    Service { suffix: "litterbox.catbox.moe", provider: "Catbox" },
    Service { suffix: "pixeldrain.com", provider: "Pixeldrain" },
    Service { suffix: "bashupload.com", provider: "bashupload" },
    Service { suffix: "temp.sh", provider: "temp.sh" },
    Service { suffix: "0x0.st", provider: "0x0.st" },
    Service { suffix: "filebin.net", provider: "Filebin" },
    Service { suffix: "oshi.at", provider: "oshi.at" },
    Service { suffix: "sendspace.com", provider: "SendSpace" },
    Service { suffix: "wetransfer.com", provider: "WeTransfer" },
    Service { suffix: "we.tl", provider: "WeTransfer" },
    Service { suffix: "mediafire.com", provider: "MediaFire" },
    Service { suffix: "uploadfiles.io", provider: "uploadfiles.io" },
    Service { suffix: "tmpfiles.org", provider: "tmpfiles.org" },
];

/// The cloud storage or file-sharing provider serving `name` (a DNS name, HTTP Host or TLS
/// server name; a port or trailing dot is ignored), when it is one.
pub fn storage_provider(name: &str) -> Option<&'static str> {
    let name = host_name(name)?;
    if s3_label(&name) {
        return Some("Amazon S3");
    }
    SERVICES.iter().find(|s| domain::matches(&name, s.suffix)).map(|s| s.provider)
}

/// Amazon S3 under `amazonaws.com`: a label `s3`, `s3-<region>`, `s3-website…` or
/// `s3.dualstack` in front of the suffix (`bucket.s3.eu-west-1.amazonaws.com`,
/// `s3-us-west-2.amazonaws.com`, `bucket.s3.dualstack.us-east-1.amazonaws.com`).
fn s3_label(name: &str) -> bool {
    let Some(front) = name.strip_suffix(".amazonaws.com") else { return false };
    front.split('.').any(|l| l == "s3" || l.starts_with("s3-"))
}

/// A name without port, brackets or trailing dot, lower-cased; `None` for an address or an
/// empty name.
pub fn host_name(raw: &str) -> Option<String> {
    let name = domain::normalize(domain::strip_port(raw.trim()));
    if name.is_empty() || name.parse::<std::net::IpAddr>().is_ok() {
        None
    } else {
        Some(name)
    }
}

/// Extensions of files worth stealing or staging: archives, disk and database images,
/// registry hives and system files, key stores, mail stores, office documents.
const DATA_EXTENSIONS: &[&str] = &[
    "zip", "7z", "rar", "tar", "gz", "tgz", "bz2", "xz", "zst", "cab", "dat", "sys", "bak", "db", "sqlite", "sql",
    "mdb", "dmp", "vhd", "vhdx", "vmdk", "img", "iso", "ntds", "dit", "hive", "sam", "kdbx", "pfx", "p12", "pem",
    "key", "pst", "ost", "eml", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "pdf", "csv", "txt", "log", "conf", "cfg",
    "json", "xml",
];

/// Extensions of files that run: programs, libraries, installers, scripts.
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "scr", "msi", "cpl", "elf", "bin", "so", "sh", "bash", "ps1", "psm1", "bat", "cmd", "vbs", "vbe",
    "wsf", "hta", "jar", "py", "pl", "apk", "dmg", "pkg", "run", "appimage", "lnk",
];

/// Extensions of files that never run, which an executable body can hide behind.
const INERT_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "ico", "svg", "webp", "txt", "css", "html", "htm", "pdf", "json", "xml",
    "woff", "woff2", "ttf", "mp3", "mp4", "avi", "wav", "csv",
];

/// What a file name's extension says about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Data,
    Executable,
    Inert,
}

/// The kind a file name's extension names, when it names one of the lists above.
pub fn name_kind(file: &str) -> Option<NameKind> {
    let (_, ext) = file.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let is = |list: &[&str]| list.contains(&ext.as_str());
    if is(EXECUTABLE_EXTENSIONS) {
        Some(NameKind::Executable)
    } else if is(DATA_EXTENSIONS) {
        Some(NameKind::Data)
    } else if is(INERT_EXTENSIONS) {
        Some(NameKind::Inert)
    } else {
        None
    }
}

/// The file a URI path names (its last segment, without query), when it has an extension.
pub fn path_file(uri: &str) -> Option<&str> {
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    let last = path.rsplit('/').next().unwrap_or(path);
    last.contains('.').then_some(last)
}

/// Every file name in a URI with an extension of `kind`: the path's last segment and any
/// query value (`/upload?f=system.dat`), in order, at most [`MAX_URI_FILES`].
pub fn uri_files(uri: &str, kind: NameKind) -> Vec<&str> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let query = query.split('#').next().unwrap_or(query);
    let mut out: Vec<&str> = path_file(path).into_iter().collect();
    out.extend(query.split('&').filter_map(|kv| kv.split_once('=').map(|(_, v)| v)).filter(|v| v.contains('.')));
    out.retain(|f| !f.is_empty() && name_kind(f) == Some(kind));
    out.truncate(MAX_URI_FILES);
    out
}

/// File names taken from one URI.
pub const MAX_URI_FILES: usize = 8;

/// A byte count as people read it: `512 B`, `1.5 KB`, `2.3 MB`, `1.1 GB` (powers of 1000).
pub fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} KB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} GB", b / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::stats::log_ramp;

    #[test]
    fn storage_providers() {
        assert_eq!(storage_provider("update-cdn-17.s3.amazonaws.com"), Some("Amazon S3"));
        assert_eq!(storage_provider("s3.amazonaws.com"), Some("Amazon S3"));
        assert_eq!(storage_provider("bucket.s3.eu-west-1.amazonaws.com"), Some("Amazon S3"));
        assert_eq!(storage_provider("s3-us-west-2.amazonaws.com:80"), Some("Amazon S3"));
        assert_eq!(storage_provider("Bucket.S3.dualstack.us-east-1.amazonaws.com."), Some("Amazon S3"));
        assert_eq!(storage_provider("storage.googleapis.com"), Some("Google Cloud Storage"));
        assert_eq!(storage_provider("acct.blob.core.windows.net"), Some("Azure Blob Storage"));
        assert_eq!(storage_provider("x.r2.cloudflarestorage.com"), Some("Cloudflare R2"));
        assert_eq!(storage_provider("transfer.sh"), Some("transfer.sh"));
        assert_eq!(storage_provider("mega.nz"), Some("MEGA"));
        assert_eq!(storage_provider("ec2-1-2-3-4.compute-1.amazonaws.com"), None);
        assert_eq!(storage_provider("update.googleapis.com"), None);
        assert_eq!(storage_provider("notmega.nz"), None);
        assert_eq!(storage_provider("52.216.1.2"), None);
        assert_eq!(storage_provider(""), None);
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("Example.com:8080").as_deref(), Some("example.com"));
        assert_eq!(host_name("[2001:db8::1]:80"), None);
        assert_eq!(host_name("10.0.0.1:80"), None);
        assert_eq!(host_name("a.example.com."), Some("a.example.com".into()));
    }

    #[test]
    fn file_names_in_uris() {
        assert_eq!(uri_files("/upload?f=system.dat", NameKind::Data), vec!["system.dat"]);
        assert_eq!(uri_files("/up/loot.7z?x=1&name=a.zip", NameKind::Data), vec!["loot.7z", "a.zip"]);
        assert_eq!(uri_files("/index.html", NameKind::Data), Vec::<&str>::new());
        assert_eq!(uri_files("/x86_64/agent", NameKind::Executable), Vec::<&str>::new());
        assert_eq!(path_file("/a/b/tool.EXE?x=y.zip"), Some("tool.EXE"));
        assert_eq!(name_kind("tool.EXE"), Some(NameKind::Executable));
        assert_eq!(name_kind("cat.jpg"), Some(NameKind::Inert));
        assert_eq!(name_kind("noext"), None);
    }

    #[test]
    fn sizes_and_log_ramp() {
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(1_500), "1.5 KB");
        assert_eq!(size_text(2_340_000), "2.3 MB");
        assert_eq!(log_ramp(10.0, 10.0, 1000.0), 0.0);
        assert!((log_ramp(100.0, 10.0, 1000.0) - 0.5).abs() < 1e-12);
        assert_eq!(log_ramp(5000.0, 10.0, 1000.0), 1.0);
        assert_eq!(log_ramp(0.0, 10.0, 1000.0), 0.0);
    }
}
