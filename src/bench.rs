//! The `bench` command: the whole pipeline in one process, measured.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Notifications to deliver.
    #[arg(long, default_value_t = 20_000)]
    pub count: u64,
}

pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
