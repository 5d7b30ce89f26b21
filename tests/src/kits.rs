//! The kits the end-to-end tests run besides Rust, installed on first use: an npm project's
//! `node_modules` (`npm ci` from its `package-lock.json`), a Python virtual environment
//! (`python3 -m venv`, then `pip install -r requirements.txt`) and programs from Debian packages
//! ([`debian_program`]: `apt-get install`, when the program is not on `PATH`). `cargo test --workspace` on a fresh
//! clone thus needs only npm and python3 on `PATH` and the npm registry and PyPI within reach; the
//! kits land next to their recipes (`tests/idp/node_modules`, `tests/clients/node_modules`,
//! `tests/clients/.venv`, all ignored by git) and are reused until the recipe changes.
//!
//! - **Once per recipe.** A complete install holds a stamp file, a copy of the lock file (or
//!   requirements file) it was installed from. A kit whose stamp matches the recipe, and whose
//!   expected files exist, is used as it is; anything else is removed and installed again.
//! - **Safe in parallel.** Test binaries (nextest runs every test in its own process) and the tests
//!   inside one binary take an exclusive lock on a file beside the kit (`.node_modules.lock`,
//!   `.venv.lock`) before they look at the stamp, and keep it until the install ends. Whoever
//!   waited then finds the stamp and installs nothing.
//! - **Never half done.** The stamp is written last, after the installer exited successfully and
//!   the expected files are there; a kit without a matching stamp (an install killed half-way, a
//!   `node_modules` made by hand) is removed before the next install.
//! - **Clear failures.** A missing `npm`/`python3`, or an install that fails (the registry cannot
//!   be reached, a package is gone), panics with what was run, where, and the last lines of the
//!   installer's output. Within one test process a failed install is not retried: the other tests
//!   that need the kit fail with the same message.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// How many of the installer's last output lines a failure shows.
const TAIL_LINES: usize = 40;

/// Installs `project/node_modules` with `npm ci` unless it is already installed from the
/// project's current `package-lock.json`; returns its path. `expect` lists paths under
/// `node_modules` that a complete install has (e.g. `node/bin/node`). Panics when the install
/// fails, saying why.
pub fn npm_project(project: &Path, expect: &[&str]) -> PathBuf {
    let modules = project.join("node_modules");
    ensure(&Kit {
        dir: modules.clone(),
        recipe: project.join("package-lock.json"),
        stamp: ".installed-lock.json",
        expect,
        manual: format!("npm ci --prefix {}", shown(project)),
        install: &|_| {
            run(
                "npm",
                &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
                project,
                "npm (Node.js 20 or newer with npm) is needed to install it; Node 22 itself \
                 comes as an npm package",
            )
        },
        announce: true,
    });
    modules
}

/// Creates the virtual environment `venv` with `python3 -m venv` and installs `requirements`
/// into it with pip, unless it is already installed from the current `requirements`; returns
/// its Python interpreter. Panics when the install fails, saying why.
pub fn python_venv(venv: &Path, requirements: &Path) -> PathBuf {
    let python = venv.join("bin/python");
    let workdir = requirements.parent().unwrap_or(Path::new("."));
    ensure(&Kit {
        dir: venv.to_owned(),
        recipe: requirements.to_owned(),
        stamp: ".installed-requirements.txt",
        expect: &["bin/python"],
        manual: format!(
            "python3 -m venv {venv}\n    {venv}/bin/pip install -r {req}",
            venv = shown(venv),
            req = shown(requirements)
        ),
        install: &|dir| {
            let dir_arg = dir.to_string_lossy();
            run(
                "python3",
                &["-m", "venv", &dir_arg],
                workdir,
                "python3 (with its venv module; on Debian the package python3-venv) is needed \
                 to create it",
            )?;
            let requirements_arg = requirements.to_string_lossy();
            run(
                &dir.join("bin/python").to_string_lossy(),
                &[
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    "-r",
                    &requirements_arg,
                ],
                workdir,
                "the virtual environment has no usable Python",
            )
        },
        announce: true,
    });
    python
}

/// One kit: a directory made by `install` from `recipe`.
struct Kit<'a> {
    /// The directory the install makes (removed first, if it exists).
    dir: PathBuf,
    /// The file the install follows; its content is the stamp's.
    recipe: PathBuf,
    /// The stamp's file name inside `dir`.
    stamp: &'static str,
    /// Paths under `dir` that a complete install has.
    expect: &'a [&'a str],
    /// The commands that install it by hand, for messages.
    manual: String,
    /// Makes `dir` (given as the argument); `Err` describes the failure.
    install: &'a dyn Fn(&Path) -> Result<(), String>,
    /// Whether to say on stderr that an install starts and ends.
    announce: bool,
}

/// The outcome of each kit's first check in this process, by directory.
static CHECKED: Mutex<Option<HashMap<PathBuf, Result<(), String>>>> = Mutex::new(None);

fn ensure(kit: &Kit) {
    // Held through the install: the other tests of this process wait for its outcome.
    let mut checked = CHECKED.lock().unwrap_or_else(PoisonError::into_inner);
    let outcome = checked
        .get_or_insert_with(HashMap::new)
        .entry(kit.dir.clone())
        .or_insert_with(|| ensure_locked(kit))
        .clone();
    drop(checked);
    if let Err(message) = outcome {
        panic!("{message}");
    }
}

fn ensure_locked(kit: &Kit) -> Result<(), String> {
    let fail = |what: String| {
        format!(
            "{what}\n\nThe tests install {dir} on first use. To install it by hand, from the \
             workspace root:\n\n    {manual}\n",
            dir = shown(&kit.dir),
            manual = kit.manual
        )
    };
    let recipe = fs::read(&kit.recipe)
        .map_err(|e| fail(format!("cannot read {}: {e}", shown(&kit.recipe))))?;
    // `node_modules` → `.node_modules.lock`, `.venv` → `.venv.lock`.
    let name = kit.dir.file_name().unwrap_or_default().to_string_lossy();
    let lock_path = kit
        .dir
        .with_file_name(format!(".{}.lock", name.trim_start_matches('.')));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", shown(&lock_path))))?;
    // Released when `lock` drops, and by the system if this process dies.
    lock.lock()
        .map_err(|e| fail(format!("cannot lock {}: {e}", shown(&lock_path))))?;

    if is_installed(kit, &recipe) {
        return Ok(());
    }
    let started = Instant::now();
    if kit.announce {
        // Straight to stderr, past the test harness's capture: the first run takes a while.
        let _ = writeln!(
            std::io::stderr(),
            "installing {} from {} (first use, or the recipe changed)…",
            shown(&kit.dir),
            shown(&kit.recipe)
        );
    }
    match fs::remove_dir_all(&kit.dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            return Err(fail(format!(
                "cannot remove the incomplete {}: {e}",
                shown(&kit.dir)
            )));
        }
        _ => {}
    }
    (kit.install)(&kit.dir).map_err(fail)?;
    if let Some(missing) = missing(kit) {
        return Err(fail(format!(
            "the install finished but {} is missing: does {} provide it?",
            shown(&missing),
            shown(&kit.recipe)
        )));
    }
    // Last: from here on the kit counts as installed.
    fs::write(kit.dir.join(kit.stamp), &recipe).map_err(|e| {
        fail(format!(
            "cannot write the stamp in {}: {e}",
            shown(&kit.dir)
        ))
    })?;
    if kit.announce {
        let _ = writeln!(
            std::io::stderr(),
            "installed {} in {:.0} s",
            shown(&kit.dir),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn is_installed(kit: &Kit, recipe: &[u8]) -> bool {
    fs::read(kit.dir.join(kit.stamp)).is_ok_and(|stamp| stamp == recipe) && missing(kit).is_none()
}

fn missing(kit: &Kit) -> Option<PathBuf> {
    kit.expect
        .iter()
        .map(|path| kit.dir.join(path))
        .find(|path| !path.exists())
}

/// The lock the installs of Debian packages take, across test processes (apt takes its own,
/// but fails at once where this waits).
const APT_LOCK: &str = "mcp-rbac-tests-apt.lock";

/// `program` from `PATH`; when it is not there, the Debian package `package` is installed first
/// (`apt-get install -y --no-install-recommends`, once per process, under an exclusive lock
/// shared by every test process; `apt-get update` and a second try when the first fails). Panics
/// with apt's last output lines when the install fails.
pub fn debian_program(program: &str, package: &str) -> PathBuf {
    static FOUND: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    let mut found = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
    let outcome = found
        .get_or_insert_with(HashMap::new)
        .entry(program.to_owned())
        .or_insert_with(|| find_or_install(program, package))
        .clone();
    drop(found);
    outcome.unwrap_or_else(|message| panic!("{message}"))
}

fn find_or_install(program: &str, package: &str) -> Result<PathBuf, String> {
    if let Some(path) = on_path(program) {
        return Ok(path);
    }
    let fail = |what: String| {
        format!(
            "{what}\n\nThe tests install the Debian package `{package}` (for `{program}`) on first \
             use. To install it by hand:\n\n    apt-get install -y --no-install-recommends {package}\n"
        )
    };
    let dir = std::env::temp_dir();
    let lock_path = dir.join(APT_LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", lock_path.display())))?;
    // Released when `lock` drops, and by the system if this process dies.
    lock.lock()
        .map_err(|e| fail(format!("cannot lock {}: {e}", lock_path.display())))?;
    // Another process may have installed it while this one waited.
    if let Some(path) = on_path(program) {
        return Ok(path);
    }
    let started = Instant::now();
    let _ = writeln!(
        std::io::stderr(),
        "installing the Debian package {package} (`{program}` is not on PATH)…"
    );
    let absent = "apt-get is needed to install it (a Debian or Ubuntu system)";
    let install = ["install", "-y", "--no-install-recommends", package];
    if run("apt-get", &install, &dir, absent).is_err() {
        // A package list that is missing or stale: refresh it and try once more.
        run("apt-get", &["update"], &dir, absent).map_err(fail)?;
        run("apt-get", &install, &dir, absent).map_err(fail)?;
    }
    let path = on_path(program).ok_or_else(|| {
        fail(format!(
            "`apt-get install {package}` finished but `{program}` is not on PATH"
        ))
    })?;
    let _ = writeln!(
        std::io::stderr(),
        "installed {package} in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(path)
}

/// The file `program` names in a directory of `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `program args` in `dir`, its output collected; `Err` says what failed with the output's
/// last lines, or `absent` when `program` cannot be started.
fn run(program: &str, args: &[&str], dir: &Path, absent: &str) -> Result<(), String> {
    let command = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        // The caller's settings for Node or Python must not change what gets installed.
        .env_remove("NODE_OPTIONS")
        .env_remove("PYTHONPATH")
        .env("NO_COLOR", "1")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                format!("`{program}` was not found on PATH: {absent}.")
            } else {
                format!("cannot run `{command}` in {}: {e}", shown(dir))
            }
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    Err(format!(
        "`{command}` in {} failed ({}). If it could not reach its package registry, check the \
         network and proxy settings (HTTPS_PROXY, npm's `registry`, pip's `index-url`, apt's \
         sources). Its last output:\n\n{tail}",
        shown(dir),
        output.status
    ))
}

/// `path` relative to the workspace root when it is inside it.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("/"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn programs_are_found_on_path_by_name() {
        let sh = on_path("sh").expect("sh is on PATH");
        assert!(sh.is_file() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(on_path("mcp-rbac-no-such-program"), None);
    }

    /// An empty scratch directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-rbac-kits-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The kit `root/kit`, made by `install` from `root/recipe.lock`, complete with `kit/file`.
    fn kit<'a>(root: &Path, install: &'a dyn Fn(&Path) -> Result<(), String>) -> Kit<'a> {
        Kit {
            dir: root.join("kit"),
            recipe: root.join("recipe.lock"),
            stamp: ".stamp",
            expect: &["file"],
            manual: "make kit".into(),
            install,
            announce: false,
        }
    }

    #[test]
    fn installs_once_per_recipe_and_again_when_it_changes() {
        let root = scratch("once");
        fs::write(root.join("recipe.lock"), "v1").unwrap();
        let runs = AtomicUsize::new(0);
        let install = |dir: &Path| {
            runs.fetch_add(1, Ordering::SeqCst);
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("file"), "x").unwrap();
            Ok(())
        };
        let kit = kit(&root, &install);
        ensure_locked(&kit).unwrap();
        ensure_locked(&kit).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(fs::read(kit.dir.join(".stamp")).unwrap(), b"v1");
        assert!(root.join(".kit.lock").is_file());

        fs::write(root.join("recipe.lock"), "v2").unwrap();
        ensure_locked(&kit).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);

        // A kit missing an expected file is installed again, whatever its stamp says.
        fs::remove_file(kit.dir.join("file")).unwrap();
        ensure_locked(&kit).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_failed_install_leaves_no_stamp_and_its_leftovers_are_removed() {
        let root = scratch("failed");
        fs::write(root.join("recipe.lock"), "v1").unwrap();
        let runs = AtomicUsize::new(0);
        let install = |dir: &Path| {
            let n = runs.fetch_add(1, Ordering::SeqCst);
            fs::create_dir_all(dir).unwrap();
            if n == 0 {
                fs::write(dir.join("half"), "x").unwrap();
                return Err("registry unreachable".into());
            }
            assert!(!dir.join("half").exists(), "the leftovers were not removed");
            fs::write(dir.join("file"), "x").unwrap();
            Ok(())
        };
        let kit = kit(&root, &install);
        let err = ensure_locked(&kit).unwrap_err();
        assert!(err.contains("registry unreachable"), "{err}");
        assert!(err.contains("make kit"), "{err}");
        assert!(!kit.dir.join(".stamp").exists());
        ensure_locked(&kit).unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_install_without_its_expected_files_is_not_done() {
        let root = scratch("incomplete");
        fs::write(root.join("recipe.lock"), "v1").unwrap();
        let runs = AtomicUsize::new(0);
        let install = |dir: &Path| {
            runs.fetch_add(1, Ordering::SeqCst);
            fs::create_dir_all(dir).unwrap();
            Ok(())
        };
        let kit = kit(&root, &install);
        let err = ensure_locked(&kit).unwrap_err();
        assert!(err.contains("file is missing"), "{err}");
        assert!(!kit.dir.join(".stamp").exists());
    }

    #[test]
    fn parallel_callers_install_once() {
        let root = scratch("parallel");
        fs::write(root.join("recipe.lock"), "v1").unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (root, runs, inside) = (root.clone(), runs.clone(), inside.clone());
                std::thread::spawn(move || {
                    let install = |dir: &Path| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(
                            inside.fetch_add(1, Ordering::SeqCst),
                            0,
                            "two installs at once"
                        );
                        fs::create_dir_all(dir).unwrap();
                        std::thread::yield_now();
                        fs::write(dir.join("file"), "x").unwrap();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    };
                    // Each thread opens and locks the file on its own, as separate processes do.
                    let kit = kit(&root, &install);
                    ensure_locked(&kit)
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_missing_program_is_named() {
        let err = run(
            "mcp-rbac-no-such-program",
            &["ci"],
            Path::new("."),
            "it is needed",
        )
        .unwrap_err();
        assert!(
            err.contains("`mcp-rbac-no-such-program` was not found on PATH: it is needed"),
            "{err}"
        );
    }

    #[test]
    fn a_failing_installer_shows_its_last_lines() {
        let script = (0..100)
            .map(|i| format!("echo line{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        let err = run(
            "sh",
            &["-c", &format!("{script}; exit 3")],
            Path::new("."),
            "",
        )
        .unwrap_err();
        assert!(err.contains("line99"), "{err}");
        assert!(!err.contains("line50\n"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
    }
}
