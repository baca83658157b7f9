"""store.unified_db: the main-database CRUD helpers of ``core/database/unified_db.py``,
on both backends; the statistics equal a plain Python computation over the same rows,
and the cached get_model_accuracy is never stale after a write in this process."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.errors import IntegrityError, RecordValidationError
from storekit.query import Eq
from storekit.records import Feedback, ScreeningResult, SelectionResult

MODELS = ("ensemble", "random_forest", "gradient_boosting", "logistic_regression")
TODAY = dt.date.today()
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def feedback(code: str, days_ago: int, model: str = "ensemble", **kw: Any) -> Feedback:
    d = day(days_ago)
    values: Dict[str, Any] = dict(predicted_probability=0.6, predicted_class=1)
    values.update(kw)
    return Feedback(
        prediction_id=f"{code}_{d.isoformat()}_{model}", stock_code=code, prediction_date=d, model_name=model, **values
    )


@st.composite
def feedback_rows(draw: st.DrawFn) -> List[Feedback]:
    n = draw(st.integers(0, 25))
    rows = {}
    for _ in range(n):
        processed = draw(st.booleans())
        actual = draw(st.sampled_from([0, 1, None])) if processed else None
        prob = draw(st.floats(0, 1))
        rec = feedback(
            f"{draw(st.integers(0, 5)):06d}",
            draw(st.integers(0, 45)),
            draw(st.sampled_from(MODELS)),
            predicted_probability=prob,
            predicted_class=draw(st.sampled_from([0, 1])),
            actual_class=actual,
            absolute_error=draw(st.none() | st.floats(0, 1)),
            is_processed=processed,
        )
        rows[rec.prediction_id] = rec
    return list(rows.values())


# -- the reference computations -----------------------------------------------------


def ref_accuracy(rows: List[Feedback], model: str, days: int) -> Optional[float]:
    chosen = [r for r in rows if r.model_name == model and r.is_processed and r.prediction_date >= day(days)]
    if not chosen:
        return None
    return sum(1 for r in chosen if r.predicted_class == r.actual_class) / len(chosen)


def ref_stats(rows: List[Feedback], days: int) -> Dict[str, Any]:
    window = [r for r in rows if r.prediction_date >= day(days)]
    processed = [r for r in window if r.is_processed]
    correct = sum(1 for r in processed if r.predicted_class == r.actual_class)
    return {
        "total_predictions": len(window),
        "processed": len(processed),
        "correct": correct,
        "accuracy": correct / len(processed) if processed else 0,
        "pending": len(window) - len(processed),
    }


# -- feedback -------------------------------------------------------------------------


def test_saved_feedback_reads_back_with_its_prediction_id(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    assert db.save_feedback(
        "005930_" + day(2).isoformat() + "_ensemble", "005930", day(2).isoformat(), 0.7, 1, "ensemble", '{"per": 1.5}'
    )
    [row] = db.get_recent_feedback(days=7)
    assert row["prediction_id"] == f"005930_{day(2).isoformat()}_ensemble"
    assert row["prediction_date"] == day(2).isoformat()
    assert row["factor_scores"] == {"per": 1.5}
    assert row["is_processed"] is False


def test_a_malformed_prediction_id_is_a_typed_error_naming_it_and_nothing_is_written(storekit_store: Store) -> None:
    with pytest.raises(RecordValidationError) as info:
        storekit_store.unified_db.save_feedback("005930_ensemble", "005930", day(1), 0.7, 1, "ensemble")
    assert info.value.fields == ("prediction_id",)
    assert "005930_ensemble" in str(info.value)
    assert storekit_store.count(Feedback) == 0


def test_a_bad_prediction_date_is_a_typed_error_naming_the_field(storekit_store: Store) -> None:
    with pytest.raises(RecordValidationError) as info:
        storekit_store.unified_db.save_feedback("005930_x_ensemble", "005930", "10/01/2026", 0.7, 1, "ensemble")
    assert info.value.fields == ("prediction_date",)
    assert storekit_store.count(Feedback) == 0


def test_saving_a_prediction_again_keeps_its_outcome(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    pid = f"000660_{day(9).isoformat()}_ensemble"
    db.save_feedback(pid, "000660", day(9), 0.4, 0, "ensemble")
    assert db.update_feedback_result(pid, 0.08, 1)
    db.save_feedback(pid, "000660", day(9), 0.9, 1, "ensemble")
    stored = storekit_store.get(Feedback, pid)
    assert stored is not None
    assert (stored.predicted_probability, stored.predicted_class) == (0.9, 1)
    assert (stored.actual_return_7d, stored.actual_class, stored.is_processed) == (0.08, 1, True)


def test_update_feedback_result_sets_the_outcome_and_reports_missing_rows(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    pid = f"000660_{day(9).isoformat()}_ensemble"
    db.save_feedback(pid, "000660", day(9), 0.25, 1, "ensemble")
    assert db.update_feedback_result(pid, -0.02, 0)
    stored = storekit_store.get(Feedback, pid)
    assert stored is not None
    assert stored.prediction_error == 0.25 and stored.absolute_error == 0.25
    assert stored.feedback_date == dt.date.today() and stored.is_processed
    assert db.update_feedback_result("nope", 0.1, 1) is False
    assert db.get_unprocessed_feedback() == []


def test_unprocessed_feedback_lists_every_pending_prediction(storekit_store: Store) -> None:
    storekit_store.put_many([feedback(f"{i:06d}", i % 40, is_processed=i % 3 == 0) for i in range(30)])
    pending = storekit_store.unified_db.get_unprocessed_feedback()
    assert sorted(r["prediction_id"] for r in pending) == sorted(
        r.prediction_id for r in storekit_store.find(Feedback, Eq("is_processed", False))
    )
    assert len(pending) == 20


def test_recent_feedback_is_the_window_newest_first_and_limited(storekit_store: Store) -> None:
    storekit_store.put_many([feedback(f"{i:06d}", i) for i in range(40)])
    rows = storekit_store.unified_db.get_recent_feedback(days=30, limit=10)
    assert [r["prediction_date"] for r in rows] == [day(i).isoformat() for i in range(10)]
    assert len(storekit_store.unified_db.get_recent_feedback(days=30)) == 31


# -- screening and selection results -------------------------------------------------------


def test_screening_results_round_trip_and_a_second_save_replaces(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    db.save_screening_result(day(0), "005930", "삼성전자", 70.0, momentum_score=3.0, passed=True, per=float("inf"))
    db.save_screening_result(day(0).isoformat(), "005930", "삼성전자", 72.5, debt_ratio=30.2)
    db.save_screening_result(day(1), "000660", "SK하이닉스", 60.0)
    [row] = db.get_screening_results(day(0))
    assert row["total_score"] == 72.5 and row["debt_ratio"] == 30.2 and row["passed"] is False
    assert storekit_store.count(ScreeningResult) == 2
    db.save_screening_result(day(0), "035420", "NAVER", 50.0, per=float("inf"))
    assert {r["stock_code"]: r["per"] for r in db.get_screening_results(day(0))}["035420"] == float("inf")


def test_selection_results_come_by_score_and_keep_their_outcome(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    for code, score in (("005930", 70.0), ("000660", 90.0), ("035420", 80.0)):
        db.save_selection_result(day(0), code, code, score, 100.0, 110.0, 95.0, 10.0, 0.7, selection_reason="사유")
    assert [r["stock_code"] for r in db.get_selection_results(day(0))] == ["000660", "035420", "005930"]
    assert db.update_selection_actual_return(day(0), "005930", 3.5)
    assert db.update_selection_actual_return(day(0), "999999", 3.5) is False
    db.save_selection_result(day(0), "005930", "삼성전자", 75.0, 100.0, 110.0, 95.0, 10.0, 0.8)
    stored = storekit_store.get(SelectionResult, day(0), "005930")
    assert stored is not None
    assert (stored.total_score, stored.actual_return_7d, stored.is_success) == (75.0, 3.5, True)


# -- model performance history ---------------------------------------------------------------


def test_model_performance_history_is_the_window_newest_first(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    for days_ago in (40, 3, 1, 2):
        db.save_model_performance("ensemble", day(days_ago), 0.5 + days_ago / 100, feedback_count=days_ago)
    db.save_model_performance("random_forest", day(1), 0.9)
    history = db.get_model_performance_history("ensemble", days=30)
    assert [h["evaluation_date"] for h in history] == [day(1).isoformat(), day(2).isoformat(), day(3).isoformat()]
    assert history[0]["feedback_count"] == 1


# -- statistics equal the reference ------------------------------------------------------------


@fixture_ok
@given(rows=feedback_rows(), days=st.sampled_from([7, 30]), model=st.sampled_from(MODELS))
def test_model_accuracy_and_feedback_stats_equal_a_python_computation(
    storekit_store: Store, rows: List[Feedback], days: int, model: str
) -> None:
    storekit_store.delete(Feedback)
    storekit_store.put_many(rows)
    assert storekit_store.unified_db.get_model_accuracy(model, days) == ref_accuracy(rows, model, days)
    assert storekit_store.unified_db.get_feedback_stats(days) == ref_stats(rows, days)


# -- the cache -------------------------------------------------------------------------------------


def test_model_accuracy_is_cached_until_a_write(storekit_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    storekit_store.put_many([feedback("005930", 1, is_processed=True, actual_class=1)])
    calls = []
    real = storekit_store.aggregate
    monkeypatch.setattr(storekit_store, "aggregate", lambda *a, **k: calls.append(a) or real(*a, **k))
    db = storekit_store.unified_db
    assert db.get_model_accuracy("ensemble") == 1.0
    assert db.get_model_accuracy("ensemble") == 1.0
    assert len(calls) == 1
    storekit_store.put(feedback("000660", 1, is_processed=True, actual_class=0))
    assert db.get_model_accuracy("ensemble") == 0.5
    assert len(calls) == 2


def test_model_accuracy_is_never_stale_after_a_write_through_any_path(storekit_store: Store) -> None:
    db = storekit_store.unified_db
    assert db.get_model_accuracy("ensemble") is None
    pid = f"005930_{day(1).isoformat()}_ensemble"
    db.save_feedback(pid, "005930", day(1), 0.8, 1, "ensemble")
    assert db.get_model_accuracy("ensemble") is None  # not processed yet
    db.update_feedback_result(pid, 0.1, 1)
    assert db.get_model_accuracy("ensemble") == 1.0
    storekit_store.put(feedback("000660", 2, is_processed=True, actual_class=0))  # plain store.put
    assert db.get_model_accuracy("ensemble") == 0.5
    storekit_store.put_many([feedback("035420", 3, is_processed=True, actual_class=0)])
    assert db.get_model_accuracy("ensemble") == pytest.approx(1 / 3)
    storekit_store.feedback_system.update_feedback_from_performance(start_date=day(30), returns=lambda c, d: None)
    storekit_store.delete(Feedback, Eq("stock_code", "035420"))
    assert db.get_model_accuracy("ensemble") == 0.5
    storekit_store.feedback_system.record_predictions([])  # writes nothing
    with pytest.raises(RuntimeError), storekit_store.transaction():
        storekit_store.put(feedback("068270", 1, is_processed=True, actual_class=0))
        assert db.get_model_accuracy("ensemble") == pytest.approx(1 / 3)  # read inside the transaction
        raise RuntimeError("roll back")
    assert db.get_model_accuracy("ensemble") == 0.5  # the rolled-back row is gone, and so is its cached value


def test_store_generation_changes_after_every_kind_of_write(storekit_store: Store) -> None:
    rec = feedback("005930", 1)
    writes = [
        lambda: storekit_store.put(rec),
        lambda: storekit_store.put_many([rec]),
        lambda: storekit_store.delete(Feedback),
        lambda: storekit_store.append([rec]),
    ]
    for write in writes:
        before = storekit_store.generation
        write()
        assert storekit_store.generation != before
    before = storekit_store.generation
    with pytest.raises(IntegrityError):  # a failed write (duplicate key) changes it too
        storekit_store.append([rec])
    assert storekit_store.generation != before
    before = storekit_store.generation
    with storekit_store.transaction():
        pass
    assert storekit_store.generation != before
    before = storekit_store.generation
    storekit_store.count(Feedback)
    list(storekit_store.find(Feedback))
    assert storekit_store.generation == before  # reads leave it alone
