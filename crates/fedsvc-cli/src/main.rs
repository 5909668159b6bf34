//! The `fedsvc` command.

fn main() {
    eprintln!("fedsvc: no commands yet");
    std::process::exit(2);
}
