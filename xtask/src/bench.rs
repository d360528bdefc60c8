pub fn run(_tracer: &std::path::Path, _args: &[String]) -> anyhow::Result<()> { anyhow::bail!("no benchmarks yet") }
