fn main() -> std::process::ExitCode {
    ingot::cli::main()
}
