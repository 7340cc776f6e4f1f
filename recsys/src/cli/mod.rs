//! The `recsys` command line: batch runs from TOML configs and one-off
//! evaluations of split files. The binary is a thin wrapper over [`main`].

mod config;
#[cfg(feature = "deep")]
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use config::RunConfig;
#[cfg(feature = "deep")]
pub use train::{TrainConfig, TrainModel, evaluate_checkpoint};

use crate::models::model_from_name;
use crate::report::{Leaderboard, Report};
use crate::stages::rerank_from_name;
use crate::{Error, Pipeline, Result};

#[derive(Parser, Debug)]
#[command(
    name = "recsys",
    version,
    about = "Recommender-systems workbench: batch runs and evaluations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an experiment described by a TOML config (see configs/).
    Run {
        /// The config file.
        config: PathBuf,
        /// Write the report JSON here (overrides [output] json).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Override a config value, `dotted.key=value` (TOML value or a bare
        /// word), repeatable: `--set recall.params.k=50`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Train a deep CTR model described by a TOML config (see
    /// configs/*_movielens.toml, configs/deepfm_criteo.toml); resumes from
    /// its last checkpoint.
    #[cfg(feature = "deep")]
    Train {
        /// The config file.
        config: PathBuf,
        /// Override a config value, `dotted.key=value` (TOML value or a bare
        /// word), repeatable: `--set model.max_epochs=3`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Evaluate one model on split files (TSV, header optional), or a
    /// trained deep model with --checkpoint.
    Evaluate {
        /// A `recsys train` output folder (or its checkpoints/best): scores
        /// the test candidates.
        #[arg(long, conflicts_with_all = ["train", "test", "candidates", "model"])]
        checkpoint: Option<PathBuf>,
        /// With --checkpoint: also rank all items (full ranking).
        #[arg(long, requires = "checkpoint")]
        full: bool,
        /// Training interactions: `user item [rating [timestamp]]`.
        #[arg(long, required_unless_present = "checkpoint")]
        train: Option<PathBuf>,
        /// Test interactions (full ranking over all items not in train).
        #[arg(long, required_unless_present_any = ["candidates", "checkpoint"])]
        test: Option<PathBuf>,
        /// With --test: an item file (first column = item id, e.g. the item
        /// features) whose items are ranked too; without it, full ranking
        /// ranks the items of the given files.
        #[arg(long, requires = "test", conflicts_with = "candidates")]
        catalogue: Option<PathBuf>,
        /// Candidates `user item label` (sampled protocol instead of full ranking).
        #[arg(long)]
        candidates: Option<PathBuf>,
        /// Model name (popularity, random, itemcf, usercf, als, bpr, ease, svd, svdpp; deepfm, xdeepfm, attention_deepfm, wide_deep, dcn on user_id + item_id).
        #[arg(long, required_unless_present = "checkpoint")]
        model: Option<String>,
        /// Hyper-parameter `key=value`, repeatable.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Candidates per user passed from the model to the re-ranker.
        #[arg(long)]
        pool: Option<usize>,
        /// A re-ranker applied to the model's list (mmr).
        #[arg(long)]
        rerank: Option<String>,
        /// Re-ranker parameter `key=value`, repeatable (e.g. lambda=0.7).
        #[arg(long = "rerank-param", value_name = "KEY=VALUE")]
        rerank_params: Vec<String>,
        /// Cut-offs, comma separated (e.g. 10 or 5,10,20).
        #[arg(long, default_value = "10", value_delimiter = ',')]
        k: Vec<usize>,
        /// Score the held-out ratings (RMSE, MAE) instead of ranking (svd, svdpp).
        #[arg(long, conflicts_with = "candidates")]
        rating: bool,
        /// Write the report (model, params, metrics, timings) as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Text encoding of the split files: utf8 (default) or latin1.
        #[arg(long, default_value = "utf8")]
        encoding: String,
    },
    /// The recommender template's workflow on any delimited file (see
    /// configs/template_*.toml): eda → train-validation → train-production
    /// → predict.
    Template {
        /// The step.
        #[arg(value_enum)]
        step: TemplateStep,
        /// The template config.
        config: PathBuf,
    },
    /// Compare the report JSON files in a folder (and its subfolders'
    /// `report.json`, e.g. `recsys train` runs) side by side.
    Compare {
        /// Folder of `*.json` reports or of run folders.
        runs: PathBuf,
    },
}

/// A step of the template workflow.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TemplateStep {
    /// Summary and charts → OUTPUT/figures/.
    Eda,
    /// Validation split, model, held-out report → OUTPUT/validation/.
    TrainValidation,
    /// The model on all the data for the kept epochs → OUTPUT/production/.
    TrainProduction,
    /// Top-N unseen items per user → OUTPUT/recommendations.json.
    Predict,
}

fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| Error::Config(format!("--param {p:?}: expected KEY=VALUE")))
        })
        .collect()
}

fn finish(report: &Report, json: Option<&PathBuf>) -> Result<()> {
    println!("{report}");
    if let Some(path) = json {
        report.save_json(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { config, json, set } => {
            let cfg = RunConfig::load_with(&config, &set)?;
            let out = json.or_else(|| cfg.output.as_ref().and_then(|o| o.json.clone()));
            let report = cfg.pipeline()?.evaluate()?;
            finish(&report, out.as_ref())
        }
        #[cfg(feature = "deep")]
        Command::Train { config, set } => {
            let cfg = TrainConfig::load_with(&config, &set)?;
            let report = cfg.run()?;
            finish(&report, None)?;
            eprintln!("wrote {}", cfg.output.dir.display());
            Ok(())
        }
        Command::Evaluate {
            checkpoint: Some(dir),
            full,
            json,
            ..
        } => {
            #[cfg(feature = "deep")]
            {
                let reports = evaluate_checkpoint(&dir, full)?;
                for r in &reports {
                    println!("{r}");
                }
                if let Some(path) = json {
                    reports[0].save_json(&path)?;
                    eprintln!("wrote {}", path.display());
                }
                Ok(())
            }
            #[cfg(not(feature = "deep"))]
            {
                let _ = (dir, full, json);
                Err(Error::Config(
                    "--checkpoint needs recsys built with the `deep` feature".into(),
                ))
            }
        }
        Command::Evaluate {
            checkpoint: None,
            train,
            test,
            candidates,
            catalogue,
            model,
            params,
            pool,
            rerank,
            rerank_params,
            k,
            rating,
            json,
            encoding,
            ..
        } => {
            if k.is_empty() || k.contains(&0) {
                return Err(Error::Config("--k needs positive cut-offs".into()));
            }
            let (Some(train), Some(model)) = (train, model) else {
                unreachable!("clap requires --train and --model without --checkpoint")
            };
            let m = model_from_name(&model, &parse_params(&params)?)?;
            let pipeline = match (test, candidates) {
                (_, Some(c)) => Pipeline::predefined_sampled(&train, c),
                (Some(t), None) => Pipeline::predefined(&train, t),
                (None, None) => unreachable!("clap requires --test or --candidates"),
            };
            let mut pipeline = pipeline
                .recall_boxed(m)
                .ks(&k)
                .encoding(crate::data::Encoding::from_name(&encoding)?);
            if let Some(c) = catalogue {
                pipeline = pipeline.catalogue(c);
            }
            if rating {
                pipeline = pipeline.rating();
            }
            if let Some(n) = pool {
                pipeline = pipeline.recall_pool(n);
            }
            if let Some(r) = rerank {
                pipeline =
                    pipeline.rerank_boxed(rerank_from_name(&r, &parse_params(&rerank_params)?)?);
            }
            let report = pipeline.evaluate()?;
            finish(&report, json.as_ref())
        }
        Command::Template { step, config } => {
            let t = crate::template::Template::load(&config)?;
            match step {
                TemplateStep::Eda => print!("{}", t.eda()?),
                TemplateStep::TrainValidation => println!("{}", t.train_validation()?),
                TemplateStep::TrainProduction => println!("{}", t.train_production()?),
                TemplateStep::Predict => {
                    let s = t.predict()?;
                    println!("{s}");
                    eprintln!(
                        "wrote {}",
                        t.config().out_dir().join("recommendations.json").display()
                    );
                }
            }
            Ok(())
        }
        Command::Compare { runs } => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&runs)
                .map_err(|e| Error::io(&runs, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter_map(|p| {
                    if p.is_dir() {
                        let r = p.join("report.json");
                        r.is_file().then_some(r)
                    } else {
                        p.extension().is_some_and(|x| x == "json").then_some(p)
                    }
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::Config(format!(
                    "no *.json reports (or run folders with report.json) in {}",
                    runs.display()
                )));
            }
            let reports = files
                .iter()
                .map(Report::load_json)
                .collect::<Result<Vec<_>>>()?;
            println!("{}", Leaderboard::new(reports, &[]));
            Ok(())
        }
    }
}

/// Entry point of the `recsys` binary: parses arguments, runs, and turns
/// errors into a message on stderr and exit code 2.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
