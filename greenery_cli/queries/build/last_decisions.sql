-- What the latest run that considered each model did with it (built, incremental, skipped) and why.
select model, arg_max(coalesce(action, 'built'), run_id), arg_max(reason, run_id)
from meta.model_builds
group by model
