//! Start-up benchmark: median time from spawning a provider binary to its
//! go-plugin handshake line, under the environment Terraform sets (magic
//! cookie, protocol versions, AutoMTLS client certificate), for this
//! provider and peers, interleaved run by run so machine noise hits all
//! alike.
//!
//! Beside each start-up it prints the binary's size on disk, stripped (the
//! `strip` command) and gzipped (`gzip -6`, what a download costs).
//!
//! usage: startup [--runs N] [--json FILE] [--size-peer NAME] NAME=BINARY [NAME=BINARY ...]
//! The first binary is the subject and the second its start-up peer: the
//! ratio column is each median over the peer's. `--size-peer` names the
//! binary whose size the subject's is held against.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

struct Subject {
    name: String,
    binary: String,
    samples: Vec<Duration>,
}

/// Bytes of a binary as it is, stripped of symbols, and gzipped; the last two
/// are `None` where the `strip` or `gzip` command is missing.
struct Sizes {
    file: u64,
    stripped: Option<u64>,
    gzipped: Option<u64>,
}

fn measure_sizes(binary: &str, scratch: &std::path::Path) -> Sizes {
    let file = std::fs::metadata(binary)
        .map(|m| m.len())
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(scratch)
        .arg(binary)
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .and_then(|_| std::fs::metadata(scratch).ok())
        .map(|m| m.len());
    let _ = std::fs::remove_file(scratch);
    // Counted through a pipe, so nothing is written to disk.
    let gzipped = Command::new("gzip")
        .args(["-6", "-c"])
        .stdin(std::fs::File::open(binary).expect("open binary"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            let mut n = 0u64;
            let mut out = child.stdout.take().expect("stdout");
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match std::io::Read::read(&mut out, &mut buf) {
                    Ok(0) => break,
                    Ok(k) => n += k as u64,
                    Err(_) => return None,
                }
            }
            child.wait().ok().filter(|s| s.success()).map(|_| n)
        });
    Sizes {
        file,
        stripped,
        gzipped,
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mb_cell(bytes: Option<u64>) -> String {
    bytes
        .map(|b| format!("{:.1}", mb(b)))
        .unwrap_or_else(|| "-".into())
}

/// A client certificate like Terraform's (ECDSA P-521, self-signed CA),
/// made with the openssl CLI.
fn client_cert_pem() -> String {
    let dir = std::env::temp_dir().join(format!("startup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("client.key");
    let cert = dir.join("client.pem");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:secp521r1",
            "-nodes",
            "-sha512",
        ])
        .args([
            "-subj",
            "/O=HashiCorp/CN=localhost",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-days",
            "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "openssl could not make a client certificate (apt-get install openssl)"
    );
    let pem = std::fs::read_to_string(&cert).expect("client cert");
    let _ = std::fs::remove_dir_all(&dir);
    pem
}

fn one_run(binary: &str, cert: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = Command::new(binary)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", cert)
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{binary}: {e}"))?;
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let took = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    read.map_err(|e| format!("{binary}: reading handshake: {e}"))?;
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    // A killed provider leaves its socket file behind.
    if fields.len() > 3 && fields[2] == "unix" {
        let _ = std::fs::remove_file(fields[3]);
    }
    if fields.len() != 6 || fields[5].is_empty() {
        return Err(format!(
            "{binary}: not a handshake line with a certificate: {line:?}"
        ));
    }
    Ok(took)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut runs = 30usize;
    let mut json_out = None;
    let mut size_peer: Option<String> = None;
    let mut subjects = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--json" => json_out = args.next(),
            "--size-peer" => size_peer = Some(args.next().expect("--size-peer NAME")),
            other => {
                let (name, binary) = other.split_once('=').expect("NAME=BINARY");
                subjects.push(Subject {
                    name: name.into(),
                    binary: binary.into(),
                    samples: Vec::new(),
                });
            }
        }
    }
    assert!(
        !subjects.is_empty(),
        "usage: startup [--runs N] [--json FILE] [--size-peer NAME] NAME=BINARY ..."
    );
    let cert = client_cert_pem();
    for s in &subjects {
        // Warm-up: page cache and dynamic loader, not counted.
        if let Err(e) = one_run(&s.binary, &cert) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    for _ in 0..runs {
        for s in subjects.iter_mut() {
            match one_run(&s.binary, &cert) {
                Ok(d) => s.samples.push(d),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let scratch = std::env::temp_dir().join(format!("startup-bench-strip-{}", std::process::id()));
    let sizes: Vec<Sizes> = subjects
        .iter()
        .map(|s| measure_sizes(&s.binary, &scratch))
        .collect();
    for s in subjects.iter_mut() {
        s.samples.sort();
    }
    let medians: Vec<Duration> = subjects
        .iter()
        .map(|s| percentile(&s.samples, 0.5))
        .collect();
    let peer = if medians.len() > 1 { 1 } else { 0 };
    println!("start-up to handshake line, AutoMTLS on, {runs} interleaved runs each; sizes in MB (10^6 bytes)");
    println!(
        "{:<14} {:>8} {:>9} {:>8} {:>10} {:>8} {:>8} {:>9}",
        "provider", "size", "stripped", "gzipped", "median ms", "p90 ms", "min ms", "ratio"
    );
    let mut json = Vec::new();
    for ((s, size), median) in subjects.iter().zip(&sizes).zip(&medians) {
        let ratio = ms(*median) / ms(medians[peer]);
        println!(
            "{:<14} {:>8.1} {:>9} {:>8} {:>10.2} {:>8.2} {:>8.2} {:>8.2}x",
            s.name,
            mb(size.file),
            mb_cell(size.stripped),
            mb_cell(size.gzipped),
            ms(*median),
            ms(percentile(&s.samples, 0.9)),
            ms(s.samples[0]),
            ratio
        );
        json.push(serde_json::json!({
            "name": s.name, "binary": s.binary, "runs": s.samples.len(),
            "median_ms": ms(*median), "p90_ms": ms(percentile(&s.samples, 0.9)), "min_ms": ms(s.samples[0]),
            "bytes": size.file, "stripped_bytes": size.stripped, "gzipped_bytes": size.gzipped,
        }));
    }
    if subjects.len() > 1 {
        println!("ratio: each median over {}'s", subjects[peer].name);
        println!(
            "startup-ratio: {} median / {} median = {:.3} (target: at most 0.2)",
            subjects[0].name,
            subjects[peer].name,
            ms(medians[0]) / ms(medians[peer])
        );
    }
    if let Some(name) = size_peer {
        let j = subjects
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("--size-peer {name}: no binary of that name"));
        println!(
            "size-ratio: {} bytes / {} bytes = {:.3} (target: at most 1.0)",
            subjects[0].name,
            subjects[j].name,
            sizes[0].file as f64 / sizes[j].file as f64
        );
    }
    if let Some(path) = json_out {
        std::fs::write(path, serde_json::Value::Array(json).to_string())
            .expect("write --json file");
    }
}
