//! Lets the `recsys` binary find the Rust standard library when it is built
//! with `-Cprefer-dynamic` (the flag the notebook kernel uses, shared so that
//! one build serves tests, CLI and notebooks): adds the toolchain's `lib`
//! folder to the binary's run-time search path. Harmless otherwise.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Ok(out) = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
    {
        let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let target = std::env::var("TARGET").unwrap_or_default();
        if !sysroot.is_empty() {
            println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{sysroot}/lib/rustlib/{target}/lib");
        }
    }
}
