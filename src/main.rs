fn main() -> std::process::ExitCode {
    gameday::cli::main(std::env::args_os())
}
