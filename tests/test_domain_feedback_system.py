"""store.feedback_system: FeedbackSystem's persistence on both backends; the evaluation,
summary and stats equal a plain Python computation over the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.domain.feedback_system import PatternPrediction, PredictionResult
from storekit.errors import RecordValidationError
from storekit.query import Eq
from storekit.records import Feedback, ModelPerformanceHistory, PerformanceTracking

MODELS = ("ensemble", "random_forest", "gradient_boosting", "logistic_regression")
TODAY = dt.date.today()
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def prediction(
    code: str, days_ago: int, prob: float = 0.7, models: Optional[Dict[str, float]] = None
) -> PredictionResult:
    d = day(days_ago).isoformat()
    return PredictionResult(
        stock_code=code,
        stock_name=code,
        prediction_date=d,
        ensemble_probability=prob,
        ensemble_prediction=int(prob > 0.5),
        model_predictions={
            name: PatternPrediction(code, d, p, int(p > 0.5), model_name=name) for name, p in (models or {}).items()
        },
    )


@st.composite
def feedback_rows(draw: st.DrawFn) -> List[Feedback]:
    rows = {}
    for _ in range(draw(st.integers(0, 25))):
        d = TODAY - dt.timedelta(days=draw(st.integers(0, 45)))
        code = f"{draw(st.integers(0, 5)):06d}"
        model = draw(st.sampled_from(MODELS))
        processed = draw(st.booleans())
        rows[(code, d, model)] = Feedback(
            prediction_id=f"{code}_{d.isoformat()}_{model}",
            stock_code=code,
            prediction_date=d,
            model_name=model,
            predicted_probability=draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])),  # ties on purpose
            predicted_class=draw(st.sampled_from([0, 1])),
            actual_class=draw(st.sampled_from([0, 1, None])) if processed else None,
            absolute_error=draw(st.none() | st.floats(0, 1)),
            is_processed=processed,
        )
    return list(rows.values())


def ref_auc(pairs: List[Any]) -> float:
    pos = [p for p, a in pairs if a == 1]
    neg = [p for p, a in pairs if a != 1]
    if not pos or not neg:
        return 0.5
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ref_evaluation(rows: List[Feedback], model: str, days: int) -> Dict[str, Any]:
    chosen = [r for r in rows if r.model_name == model and r.is_processed and r.prediction_date >= day(days)]
    labelled = [r for r in chosen if r.actual_class is not None]
    if not chosen or not labelled:
        return {}
    tp = sum(1 for r in labelled if r.actual_class == 1 and r.predicted_class == 1)
    fp = sum(1 for r in labelled if r.actual_class == 0 and r.predicted_class == 1)
    fn = sum(1 for r in labelled if r.actual_class == 1 and r.predicted_class == 0)
    tn = sum(1 for r in labelled if r.actual_class == 0 and r.predicted_class == 0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    errors = [r.absolute_error for r in chosen if r.absolute_error is not None]
    return {
        "total_predictions": len(chosen),
        "processed_predictions": len(labelled),
        "accuracy": sum(1 for r in labelled if r.predicted_class == r.actual_class) / len(labelled),
        "precision": precision,
        "recall": recall,
        "f1_score": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "auc_score": ref_auc([(r.predicted_probability, r.actual_class) for r in labelled]),
        "mean_absolute_error": sum(errors) / len(errors) if errors else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
    }


def ref_summary(rows: List[Feedback], days: int) -> Dict[str, Any]:
    window = [r for r in rows if r.prediction_date >= day(days)]
    processed = [r for r in window if r.is_processed]
    errors = [r.absolute_error for r in processed if r.absolute_error is not None]
    per_model: Dict[str, Any] = {}
    for name in sorted({r.model_name for r in processed}):
        mine = [r for r in processed if r.model_name == name]
        errs = [r.absolute_error for r in mine if r.absolute_error is not None]
        per_model[name] = {"count": len(mine), "avg_error": sum(errs) / len(errs) if errs else 0.0}
    return {
        "period_days": days,
        "total_feedback": len(window),
        "processed_feedback": len(processed),
        "processing_rate": len(processed) / len(window) if window else 0.0,
        "average_error": sum(errors) / len(errors) if errors else 0.0,
        "actual_success_rate": sum(1 for r in window if r.actual_class == 1) / len(processed) if processed else 0.0,
        "predicted_success_rate": sum(1 for r in window if r.predicted_class == 1) / len(window) if window else 0.0,
        "model_performance": per_model,
    }


def assert_close(got: Dict[str, Any], want: Dict[str, Any]) -> None:
    assert set(want) <= set(got)
    for key, value in want.items():
        if isinstance(value, dict):
            assert_close(got[key], value)
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == value, key


# -- record_predictions --------------------------------------------------------------------


def test_record_predictions_writes_the_ensemble_and_each_model(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    p = prediction("005930", 3, 0.8, {"random_forest": 0.7, "gradient_boosting": 0.4})
    p.factor_scores = {"모멘텀": 0.5}
    assert fs.record_predictions([p, prediction("37550L", 3)])
    ids = {r.prediction_id: r for r in storekit_store.find(Feedback)}
    d = day(3).isoformat()
    assert set(ids) == {
        f"005930_{d}_ensemble",
        f"005930_{d}_random_forest",
        f"005930_{d}_gradient_boosting",
        f"37550L_{d}_ensemble",
    }
    assert ids[f"005930_{d}_gradient_boosting"].predicted_class == 0
    assert ids[f"005930_{d}_random_forest"].factor_scores == {"모멘텀": 0.5}
    assert fs.record_predictions([]) is False


@pytest.mark.parametrize(
    "bad",
    [
        {"stock_code": "000660"},  # a model's prediction for another stock than its id says
        {"prediction_date": "2020-01-01"},  # ... or another day
    ],
)
def test_a_prediction_id_that_does_not_match_its_row_is_an_error_and_nothing_is_written(
    storekit_store: Store, bad: Dict[str, Any]
) -> None:
    p = prediction("005930", 3, 0.8, {"random_forest": 0.7})
    for name, value in bad.items():
        setattr(p.model_predictions["random_forest"], name, value)
    with pytest.raises(RecordValidationError) as info:
        storekit_store.feedback_system.record_predictions([prediction("035420", 3), p])
    assert info.value.fields == ("prediction_id",)
    assert f"005930_{day(3).isoformat()}_random_forest" in str(info.value)
    assert storekit_store.count(Feedback) == 0


def test_an_unknown_model_name_is_an_error_naming_it(storekit_store: Store) -> None:
    with pytest.raises(RecordValidationError) as info:
        storekit_store.feedback_system.record_predictions([prediction("005930", 3, 0.8, {"xgboost": 0.7})])
    assert info.value.fields == ("model_name",)
    assert storekit_store.count(Feedback) == 0


def test_recording_a_prediction_again_keeps_its_outcome(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction("005930", 10, 0.8)])
    fs.update_feedback_from_performance(returns={("005930", day(10)): 0.09})
    fs.record_predictions([prediction("005930", 10, 0.6)])
    [row] = storekit_store.find(Feedback)
    assert (row.predicted_probability, row.actual_class, row.is_processed) == (0.6, 1, True)


# -- update_feedback_from_performance ----------------------------------------------------------------


def test_pending_predictions_get_their_outcome_from_the_returns_given(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction("005930", 10, 0.8), prediction("000660", 10, 0.3), prediction("035420", 2)])
    returns = {("005930", day(10).isoformat()): 0.02, ("000660", day(10)): 0.12, ("035420", day(2)): 0.5}
    assert fs.update_feedback_from_performance(returns=returns)
    rows = {r.stock_code: r for r in storekit_store.find(Feedback)}
    assert (rows["005930"].actual_class, rows["005930"].prediction_error) == (0, pytest.approx(0.8))
    assert (rows["000660"].actual_class, rows["000660"].absolute_error) == (1, pytest.approx(0.7))
    assert rows["035420"].is_processed is False  # younger than 7 days: not pending without start_date
    assert fs.update_feedback_from_performance(start_date=day(5).isoformat(), returns=returns)
    assert storekit_store.get(Feedback, f"035420_{day(2).isoformat()}_ensemble").is_processed  # type: ignore[union-attr]


def test_without_a_return_a_prediction_stays_pending_and_no_price_is_invented(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction("005930", 10)])
    assert fs.update_feedback_from_performance() is False
    [row] = storekit_store.find(Feedback)
    assert (row.is_processed, row.actual_return_7d) == (False, None)


def test_the_default_returns_are_the_accuracy_trackers_7_day_returns(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction("005930", 10, 0.8)])
    storekit_store.put(
        PerformanceTracking(source="accuracy", stock_code="005930", tracking_date=day(10), return_7d=6.0)
    )
    assert fs.update_feedback_from_performance()
    [row] = storekit_store.find(Feedback)
    assert (row.actual_return_7d, row.actual_class) == (pytest.approx(0.06), 1)


# -- statistics equal the reference ------------------------------------------------------------------


@fixture_ok
@given(rows=feedback_rows(), model=st.sampled_from(MODELS), days=st.sampled_from([7, 30]))
def test_evaluation_summary_and_stats_equal_a_python_computation(
    storekit_store: Store, rows: List[Feedback], model: str, days: int
) -> None:
    storekit_store.delete(ModelPerformanceHistory)
    storekit_store.delete(Feedback)
    storekit_store.put_many(rows)
    fs = storekit_store.feedback_system
    want = ref_evaluation(rows, model, days)
    got = fs.evaluate_model_performance(model, days)
    assert_close(got, want)
    assert storekit_store.count(ModelPerformanceHistory) == (1 if want else 0)
    assert_close(fs.get_feedback_summary(days), ref_summary(rows, days))
    processed = [r for r in rows if r.is_processed]
    correct = sum(1 for r in processed if r.predicted_class == r.actual_class)
    assert fs.get_stats() == {
        "total_count": len(rows),
        "processed_count": len(processed),
        "accuracy": correct / len(processed) if processed else 0.0,
        "recent_count": sum(1 for r in rows if r.prediction_date >= day(30)),
    }


def test_an_evaluation_is_appended_to_the_history(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction("005930", 10, 0.8), prediction("000660", 10, 0.3)])
    fs.update_feedback_from_performance(returns=lambda code, d: 0.1)
    result = fs.evaluate_model_performance()
    [row] = storekit_store.find(ModelPerformanceHistory, Eq("model_name", "ensemble"))
    assert (row.accuracy, row.feedback_count, row.evaluation_date) == (result["accuracy"], 2, dt.date.today())
    assert storekit_store.unified_db.get_model_performance_history("ensemble")[0]["accuracy"] == result["accuracy"]


def test_retraining_is_checked_on_the_ensembles_evaluation(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    assert fs.check_retrain_needed() == {"retrain_needed": False, "reason": "insufficient_data"}
    fs.record_predictions([prediction("005930", 10, 0.8)])
    fs.update_feedback_from_performance(returns=lambda code, d: -0.1)
    info = fs.check_retrain_needed()
    assert info["retrain_needed"] is True
    assert info["reasons"][0] == "insufficient_feedback_count: 1"
    assert "accuracy_drop: 0.700" in info["reasons"]


def test_recent_feedback_includes_the_prediction_id(storekit_store: Store) -> None:
    fs = storekit_store.feedback_system
    fs.record_predictions([prediction(f"{i:06d}", i % 10) for i in range(120)])
    rows = fs.get_recent_feedback(days=7)
    assert len(rows) == 96
    assert all(r["prediction_id"] == f"{r['stock_code']}_{r['prediction_date']}_ensemble" for r in rows)
    assert rows[0]["factor_scores"] == {}
    assert len(fs.get_recent_feedback(days=30)) == 100
