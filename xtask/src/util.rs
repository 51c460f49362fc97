//! Small helpers shared by the tasks: the workspace root, running `cargo`
//! and other programs, environment flags, TCP probes and random bytes.
//!
//! Depends on: `std` only.
//!
//! Must not depend on: any workspace crate, any async runtime.

use std::ffi::OsStr;
use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The error type of every task: a message for the person at the terminal.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match manifest_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => manifest_dir.to_path_buf(),
    }
}

/// A `cargo` command run from the workspace root, using the same cargo binary
/// that started xtask when there is one.
pub(crate) fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace_root());
    command
}

/// Runs a command to completion with inherited stdio; fails on a non-zero exit.
pub(crate) fn run(command: &mut Command) -> Result {
    let shown = show(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        return Ok(());
    }
    Err(format!("`{shown}` failed ({status})"))
}

/// Runs a command and returns its stdout; stderr is inherited.
pub(crate) fn read_stdout(command: &mut Command) -> Result<String> {
    let shown = show(command);
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`{shown}` failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("`{shown}` printed invalid UTF-8: {e}"))
}

/// Whether we run in CI (`CI` set to anything but empty, `0` or `false`).
pub(crate) fn is_ci() -> bool {
    match std::env::var("CI") {
        Ok(value) => !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false"
        ),
        Err(_) => false,
    }
}

/// `host:port` of a URL such as `postgres://user:pw@host:5432/db`, with
/// `default_port` when the URL names none.
pub(crate) fn url_host_port(url: &str, default_port: u16) -> Option<String> {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest,
        None => url,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = match authority.rsplit_once('@') {
        Some((_, host_port)) => host_port,
        None => authority,
    };
    if host_port.is_empty() {
        return None;
    }
    // `[::1]:5432`, `[::1]`, `host:5432`, `host`.
    let has_port = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].contains(':'),
        None => host_port.contains(':'),
    };
    if has_port {
        return Some(host_port.to_string());
    }
    Some(format!("{host_port}:{default_port}"))
}

/// Whether something accepts TCP connections at `host_port` within `timeout`.
pub(crate) fn tcp_answers(host_port: &str, timeout: Duration) -> bool {
    let addrs: Vec<SocketAddr> = match host_port.to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(_) => return false,
    };
    addrs
        .iter()
        .any(|addr| TcpStream::connect_timeout(addr, timeout).is_ok())
}

/// `len` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(len: usize) -> Result<String> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|e| format!("could not read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn show(command: &Command) -> String {
    let mut parts = vec![command.get_program().to_string_lossy().into_owned()];
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    if parts[0].ends_with("/cargo") {
        parts[0] = "cargo".to_string();
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests;

/// Makes sure `cargo <subcommand>` works, installing `package` (locked) when it does not.
pub(crate) fn ensure_cargo_tool(subcommand: &str, package: &str) -> Result {
    let installed = cargo([subcommand, "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    println!("{package} is missing; installing it (takes a minute or more)");
    run(&mut cargo(["install", "--locked", package]))
}

/// The CPU time (user and system) this process has used so far, from `/proc/self/stat`
/// (Linux; zero elsewhere). Clock ticks are taken as the usual 100 per second.
pub(crate) fn own_cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the command name (which may hold spaces) start after its `)`.
    let Some((_, after)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|index| fields.get(*index)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}
