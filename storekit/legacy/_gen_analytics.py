"""Generator writers for the analysis files: performance_tracking.db, accuracy_tracking.db,
strategy_performance.db, model_performance.db and feedback.db (see :mod:`._gen_apps` for
the conventions: the legacy statements, defaults bound as the UTC text they produce)."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from typing import Any, Dict, List, Tuple

from ._gen_common import Gen, dumps_ascii, dumps_utf8, insert, upsert

STRATEGIES = ("momentum_strategy", "value_strategy", "growth_strategy")
"""Strategies the full profile writes (the hostile rows use others, so keys never collide)."""

# --- performance_tracking.db -----------------------------------------------------------

_INSIGHTS = ("예측 정확도가 매우 높습니다", "방향성 예측이 부정확합니다", "실행 비용이 예상보다 큽니다")
_SUGGESTIONS = ("방향성 예측 모델 개선", "시장 환경 변수 추가 고려", "수익률 크기 예측 정확도 향상", "리스크 모델 개선")


def write_performance(conn: sqlite3.Connection, g: Gen) -> None:
    """PerformanceTracker: predictions (skipped below 0.6 confidence), their outcomes, the
    comparison the 24-hour timer thread writes afterwards; and daily_tracking, which the
    legacy code never wrote, in its intended shape."""
    days = g.trading_days(max(2, math.ceil(g.rows / len(STRATEGIES))))
    predictions: List[Tuple[str, str, dt.date, List[str]]] = []
    for day in days:
        for strategy in STRATEGIES:
            if len(predictions) == g.rows:
                break
            confidence = g.uniform(0.6, 0.95, 3)
            codes = [s[0] for s in g.stocks(g.rng.randint(2, 5))]
            weights = [g.rng.random() for _ in codes]
            pred_id = f"pred_{strategy}_{g.yyyymmdd(day)}"
            upsert(conn, "backtest_predictions", (
                "prediction_id", "strategy_name", "prediction_date", "target_stocks", "predicted_returns",
                "predicted_weights", "expected_return", "expected_volatility", "expected_sharpe_ratio",
                "expected_max_drawdown", "model_confidence", "feature_importance", "market_conditions",
                "created_at"), [(
                    pred_id, strategy, g.iso_date(day), dumps_ascii(codes),
                    dumps_ascii({c: g.uniform(-0.05, 0.08, 4) for c in codes}),
                    dumps_ascii({c: round(w / sum(weights), 4) for c, w in zip(codes, weights)}),
                    g.uniform(-0.01, 0.04, 4), g.uniform(0.08, 0.3, 4), g.uniform(0.2, 2.5, 3),
                    g.uniform(0.02, 0.2, 4), confidence,
                    dumps_ascii({"rsi": g.uniform(0, 0.5, 3), "volume_ratio": g.uniform(0, 0.4, 3)}),
                    dumps_ascii({"regime": g.rng.choice(("bull", "bear", "sideways")),
                                 "kospi": g.uniform(2300, 2700, 1), "note": "외국인 순매수"}),
                    g.utc_sql(g.at(day, 8, 40, spread_s=600)),
                )])
            predictions.append((pred_id, strategy, day, codes))

    for pred_id, strategy, day, codes in predictions[: max(1, g.rows * 4 // 5)]:
        done = day + dt.timedelta(days=7)
        actual = g.uniform(-0.03, 0.05, 4)
        upsert(conn, "actual_performance", (
            "performance_id", "prediction_id", "execution_date", "completion_date", "executed_stocks",
            "actual_returns", "actual_weights", "actual_return", "actual_volatility", "actual_sharpe_ratio",
            "actual_max_drawdown", "execution_costs", "slippage", "market_impact", "status", "created_at"), [(
                pred_id.replace("pred_", "perf_", 1), pred_id, g.iso_date(day), g.iso_date(done),
                dumps_ascii(codes), dumps_ascii({c: g.uniform(-0.05, 0.08, 4) for c in codes}),
                dumps_ascii({c: round(1 / len(codes), 4) for c in codes}), actual, g.uniform(0.05, 0.3, 4),
                g.uniform(-0.5, 2.0, 3), g.uniform(0.01, 0.15, 4), g.uniform(0, 0.2, 3), g.uniform(0, 0.1, 3),
                g.uniform(0, 0.05, 3), g.rng.choice(("completed", "completed", "executed", "cancelled", "error")),
                g.utc_sql(g.at(day, 15, 40, spread_s=600)),
            )])
        if g.chance(0.25):
            continue
        analysed = g.at(day + dt.timedelta(days=1), 15, 40, spread_s=600)  # 24 h after the outcome
        rating = g.rng.choice(("Excellent", "Good", "Fair", "Poor"))
        upsert(conn, "performance_comparisons", (
            "comparison_id", "prediction_id", "comparison_date", "return_difference", "volatility_difference",
            "sharpe_difference", "prediction_accuracy", "direction_accuracy", "magnitude_accuracy",
            "mean_absolute_error", "root_mean_square_error", "correlation", "analysis_summary",
            "improvement_suggestions", "created_at"), [(
                f"comp_{pred_id}_{g.unix(analysed)}", pred_id, g.iso_date(analysed.date()), g.uniform(-0.03, 0.03),
                g.uniform(-0.1, 0.1), g.uniform(-1, 1), g.uniform(0, 1), g.uniform(0, 1), g.uniform(0, 1),
                g.uniform(0, 0.05), g.uniform(0, 0.06), g.uniform(-1, 1),
                dumps_utf8({"prediction_date": g.iso_date(day), "strategy_name": strategy,
                            "model_confidence": g.uniform(0.6, 0.95, 3), "return_difference_pct": g.uniform(-3, 3, 2),
                            "prediction_accuracy_pct": g.uniform(0, 100, 1),
                            "direction_accuracy_pct": g.uniform(0, 100, 1), "execution_costs_pct": 0.1,
                            "slippage_pct": 0.05, "overall_rating": rating,
                            "key_insights": g.rng.sample(_INSIGHTS, 2)}),
                dumps_utf8(g.rng.sample(_SUGGESTIONS, 3)), g.utc_sql(analysed),
            )])
    rows = []
    for pred_id, _, day, _ in predictions[: max(1, g.rows // 3)]:
        for k in range(1, 4):
            predicted, actual = g.uniform(-2, 3, 3), g.uniform(-3, 3, 3)
            rows.append((pred_id, g.iso_date(day + dt.timedelta(days=k)), predicted, actual, actual - predicted,
                         abs(actual - predicted) / max(abs(predicted), 0.01) * 100,
                         g.utc_sql(g.at(day + dt.timedelta(days=k), 18, 0, spread_s=60))))
    insert(conn, "daily_tracking", ("prediction_id", "tracking_date", "predicted_value", "actual_value",
                                    "difference", "error_percentage", "created_at"), rows[: g.rows])


# --- accuracy_tracking.db --------------------------------------------------------------


def write_accuracy(conn: sqlite3.Connection, g: Gen) -> None:
    """AccuracyTracker: selections, their +1/+7/+30 day closes (NULL until known), and one
    accuracy row per analysis day (three target dates analysed, the last one survives)."""
    today = g.now.date()
    per_day = 4
    days = g.trading_days(max(2, math.ceil(g.rows / per_day)), end=today - dt.timedelta(days=1))
    picks: List[Tuple[dt.date, Tuple[str, str, str, str], float]] = []
    for day in days:
        for stock in g.stocks(per_day):
            if len(picks) == g.rows:
                break
            price = g.price()
            picks.append((day, stock, price))
            upsert(conn, "daily_selections", (
                "selection_date", "stock_code", "stock_name", "sector", "selection_price", "selection_reason",
                "confidence_score", "created_at"), [(
                    g.iso_date(day), stock[0], stock[1], stock[2], price,
                    g.rng.choice(("기술적 반등", "모멘텀", "거래량 급증", "")), g.uniform(0.3, 0.95, 3),
                    g.utc_sql(g.at(day, 8, 50, spread_s=300)),
                )])
    returns: Dict[Tuple[dt.date, str], float] = {}
    for day, stock, price in picks:
        row: List[Any] = [g.iso_date(day), stock[0]]
        for horizon in (1, 7, 30):
            if day + dt.timedelta(days=horizon) <= today:
                close = g.price(int(price * 0.9), int(price * 1.1) + 100)
                row += [close, (close / price - 1) * 100]
            else:
                row += [None, None]
        returns[(day, stock[0])] = row[5] if row[5] is not None else (row[3] or 0.0)
        row.append(g.utc_sql(g.at(today, 9, 0, spread_s=120)))
        upsert(conn, "performance_tracking", (
            "selection_date", "stock_code", "price_1d", "return_1d", "price_7d", "return_7d", "price_30d",
            "return_30d", "last_updated"), [row])

    by_day: Dict[dt.date, List[Tuple[Tuple[str, str, str, str], float]]] = {}
    for day, stock, _ in picks:
        by_day.setdefault(day, []).append((stock, returns[(day, stock[0])]))
    for analysis in g.trading_days(max(2, min(g.rows, len(days))), end=today):
        for back in (1, 7, 30):  # INSERT OR REPLACE on analysis_date: the last analysed target wins
            target = analysis - dt.timedelta(days=back)
            picked = by_day.get(target)
            if not picked:
                continue
            rets = [r for _, r in picked]
            positive = sum(r > 0 for r in rets)
            ranked = sorted(picked, key=lambda p: p[1], reverse=True)
            performers = [{"stock_code": s[0], "stock_name": s[1], "sector": s[2], "return_7d": r} for s, r in ranked]
            sectors: Dict[str, List[float]] = {}
            for s, r in picked:
                sectors.setdefault(s[2], []).append(r)
            upsert(conn, "daily_accuracy", (
                "analysis_date", "target_date", "total_predictions", "positive_1d", "positive_rate_1d",
                "avg_return_1d", "positive_7d", "positive_rate_7d", "avg_return_7d", "positive_30d",
                "positive_rate_30d", "avg_return_30d", "strong_positive_1d", "strong_positive_rate_1d",
                "strong_positive_7d", "strong_positive_rate_7d", "sector_accuracy", "top_performers",
                "worst_performers", "created_at"), [(
                    g.iso_date(analysis), g.iso_date(target), len(rets), positive, positive / len(rets) * 100,
                    sum(rets) / len(rets), positive, positive / len(rets) * 100, sum(rets) / len(rets),
                    positive, positive / len(rets) * 100, sum(rets) / len(rets),
                    sum(r > 5 for r in rets), sum(r > 5 for r in rets) / len(rets) * 100,
                    sum(r > 5 for r in rets), sum(r > 5 for r in rets) / len(rets) * 100,
                    dumps_utf8({k: sum(v > 0 for v in vs) / len(vs) * 100 for k, vs in sectors.items()}),
                    dumps_utf8(performers[:5]), dumps_utf8(performers[::-1][:5]),
                    g.utc_sql(g.at(analysis, 18, 0, spread_s=120)),
                )])


# --- strategy_performance.db -------------------------------------------------------------


def write_strategy(conn: sqlite3.Connection, g: Gen) -> None:
    """StrategyReporter.record_daily_strategy_return, and the tables the legacy code never
    managed to write, in their intended formats."""
    days = g.trading_days(max(2, math.ceil(g.rows / len(STRATEGIES))))
    rows = []
    for strategy in STRATEGIES:
        cumulative = 0.0
        for day in days:
            daily, bench = g.uniform(-2, 2.5, 4), g.uniform(-1.5, 1.5, 4)
            cumulative += daily
            rows.append((day, strategy, daily, cumulative, bench))
    rows.sort(key=lambda r: r[0])
    upsert(conn, "daily_strategy_returns", (
        "strategy_name", "date", "daily_return", "cumulative_return", "portfolio_value", "benchmark_return",
        "active_return", "created_at"), [
            (s, g.iso_date(d), daily, cum, 10_000_000 * (1 + cum / 100), bench, daily - bench,
             g.utc_sql(g.at(d, 16, 0, spread_s=300)))
            for d, s, daily, cum, bench in rows[: g.rows]])
    end = g.now.date()
    start = end - dt.timedelta(days=30)
    perf = []
    for strategy in STRATEGIES:
        trades = g.rng.randint(10, 80)
        wins = g.rng.randint(0, trades)
        ratios = [g.uniform(-0.2, 0.4) for _ in range(9)]
        factors = [g.uniform(-1, 3) for _ in range(6)]
        perf.append((strategy, g.iso_date(end), g.iso_date(start), g.iso_date(end), *ratios,
                     trades, wins, trades - wins, *factors,
                     dumps_ascii([g.uniform(-5, 5, 4) for _ in range(3)]), dumps_ascii([g.uniform(-8, 8, 4)]),
                     g.utc_sql(g.at(end, 11, 0, spread_s=60))))
    insert(conn, "strategy_performance", (
        "strategy_name", "date", "period_start", "period_end", "total_return", "annualized_return", "volatility",
        "sharpe_ratio", "max_drawdown", "win_rate", "avg_win", "avg_loss", "profit_factor", "total_trades",
        "profitable_trades", "losing_trades", "calmar_ratio", "sortino_ratio", "market_correlation", "alpha",
        "beta", "information_ratio", "monthly_returns", "quarterly_returns", "created_at"), perf)
    comparisons = []
    for period in (1, 7, 30):
        sharpe = {s: g.uniform(-1, 3, 3) for s in STRATEGIES}
        ranked = sorted(sharpe.items(), key=lambda kv: kv[1], reverse=True)
        comparisons.append((
            g.iso_date(end), period, dumps_ascii(list(STRATEGIES)), ranked[0][0], ranked[-1][0], g.uniform(0, 5),
            dumps_ascii([list(kv) for kv in ranked]),
            dumps_ascii({a: {b: 1.0 if a == b else g.uniform(-1, 1, 3) for b in STRATEGIES} for a in STRATEGIES}),
            dumps_ascii({s: g.chance(0.5) for s in STRATEGIES}),
            *(dumps_ascii({s: g.uniform(0.5, 1.5, 3) for s in STRATEGIES}) for _ in range(3)),
            g.utc_sql(g.at(end, 18, 0, spread_s=60))))
    insert(conn, "strategy_comparisons", (
        "comparison_date", "period_days", "strategies", "best_performer", "worst_performer", "performance_spread",
        "risk_adjusted_ranking", "correlation_matrix", "statistical_significance", "bull_market_performance",
        "bear_market_performance", "sideways_market_performance", "created_at"), comparisons)
    insert(conn, "market_regimes", ("date", "regime_type", "market_return", "volatility", "confidence",
                                    "created_at"), [
        (g.iso_date(d), g.rng.choice(("bull", "bear", "sideways", "volatile")), g.uniform(-2, 2, 4),
         g.uniform(0.05, 0.4, 4), g.uniform(0.3, 0.9, 3), g.utc_sql(g.at(d, 16, 5, spread_s=60)))
        for d in days[: g.rows]])


# --- model_performance.db ----------------------------------------------------------------

_MODELS = (("ensemble_v1", "stock_screener"), ("lstm_price_v2", "price_predictor"),
           ("momentum_rf", "momentum_strategy"))
_METRICS = ("accuracy", "precision", "recall", "f1_score", "prediction_accuracy", "directional_accuracy",
            "profit_factor", "sharpe_ratio", "max_drawdown", "prediction_variance", "feature_importance_stability",
            "data_coverage", "missing_data_ratio", "outlier_ratio")
_CAUSES = ("시장 환경 변화", "트레이딩 패턴 변화", "입력 데이터 품질 저하")
_ACTIONS = {
    "accuracy_drop": ["모델 재학습 실행", "피처 엔지니어링 재검토", "하이퍼파라미터 튜닝"],
    "overfitting": ["정규화 강화", "교차 검증 재실행", "모델 복잡도 감소"],
    "concept_drift": ["온라인 학습 활성화", "적응형 모델로 전환", "시장 환경 분석"],
    "data_quality_issue": ["데이터 품질 검증 강화", "이상값 필터링 강화"],
}


def write_model(conn: sqlite3.Connection, g: Gen) -> None:
    """ModelPerformanceMonitor: daily metrics per model, a baseline from their means, and
    the degradation alerts recorded once a baseline exists."""
    days = g.trading_days(max(5, math.ceil(g.rows / len(_MODELS))))
    history: Dict[str, List[Dict[str, float]]] = {}
    rows = []
    for day in days:
        for name, model_type in _MODELS:
            metrics = {m: g.uniform(0.0, 0.4, 4) if m in ("prediction_variance", "max_drawdown",
                                                           "missing_data_ratio", "outlier_ratio")
                       else g.uniform(0.4, 1.0, 4) for m in _METRICS}
            metrics["profit_factor"] = g.uniform(0.6, 2.2, 3)
            metrics["sharpe_ratio"] = g.uniform(0.2, 2.5, 3)
            history.setdefault(name, []).append(metrics)
            rows.append((name, model_type, g.iso_date(day), *(metrics[m] for m in _METRICS),
                         g.utc_sql(g.at(day, 21, 0, spread_s=120))))
    upsert(conn, "model_performance", ("model_name", "model_type", "measurement_date", *_METRICS, "created_at"),
           rows[: g.rows])

    established = days[min(4, len(days) - 1)]
    for name, model_type in _MODELS:
        means = {m: sum(h[m] for h in history[name][:5]) / 5 for m in _METRICS}
        baseline = {"model_name": name, "model_type": model_type, "measurement_date": g.iso_date(established),
                    **means}
        upsert(conn, "model_baselines", ("model_name", "model_type", "baseline_metrics", "established_date",
                                         "last_updated"),
               [(name, model_type, dumps_utf8(baseline), g.iso_date(established), g.iso_date(days[-1]))])

    alerts = []
    for day in days[5:] or days[-1:]:
        name = g.rng.choice(_MODELS)[0]
        kind = g.rng.choice(tuple(_ACTIONS))
        severity = {"accuracy_drop": g.rng.choice(("high", "critical")), "concept_drift": "high"}.get(kind, "medium")
        at = g.at(day, 21, 0, spread_s=60)
        current, base = g.uniform(0.3, 0.7, 4), g.uniform(0.6, 0.9, 4)
        alerts.append((
            f"{name}_{kind}_{g.iso_date(day)}_{g.unix(at)}", name, kind, severity, current, base, base - current,
            g.iso_date(day), "recent",
            dumps_utf8({"model_name": name, "degradation_type": kind, "analysis_date": g.local_iso_t(at),
                        "potential_causes": g.rng.sample(_CAUSES, 2), "confidence": g.uniform(0, 0.6, 2)}),
            dumps_utf8(_ACTIONS[kind]), False, None, g.utc_sql(at)))
    upsert(conn, "performance_alerts", (
        "alert_id", "model_name", "degradation_type", "severity", "current_performance", "baseline_performance",
        "performance_drop", "detection_date", "affected_period", "root_cause_analysis", "recommended_actions",
        "resolved", "resolved_date", "created_at"), alerts[: g.rows])


# --- feedback.db -------------------------------------------------------------------------

FEEDBACK_MODELS = ("ensemble", "random_forest", "gradient_boosting", "logistic_regression")


def feedback_rows(g: Gen, stamp: Any) -> List[Tuple[Any, ...]]:
    """feedback_data rows (without ids), one per stock, day and model; ``stamp`` turns a
    local time into the file's timestamp text."""
    today = g.now.date()
    per_day = max(1, min(5, g.rows // 8))
    days = g.trading_days(max(2, math.ceil(g.rows / (per_day * len(FEEDBACK_MODELS)))), end=today)
    rows: List[Tuple[Any, ...]] = []
    for day in days:
        for code, _, sector, _ in g.stocks(per_day):
            created = g.at(day, 18, 40, spread_s=120)
            processed = (today - day).days >= 7
            actual = g.uniform(-0.12, 0.15, 4) if processed else None
            for model in FEEDBACK_MODELS:
                prob = g.uniform(0.05, 0.95, 4)
                predicted = int(prob > 0.5)
                actual_class = int(actual > 0.05) if actual is not None else None
                error = prob - actual_class if actual_class is not None else None
                factors = None
                if model == "ensemble" and g.chance(0.8):
                    factors = dumps_utf8({"기술적": g.uniform(0, 1, 3), "모멘텀": g.uniform(0, 1, 3), "섹터": sector})
                updated = created + dt.timedelta(days=7, hours=1) if processed else created
                rows.append((
                    f"{code}_{g.iso_date(day)}_{model}", code, g.iso_date(day), prob, predicted, model, actual,
                    actual_class, error, abs(error) if error is not None else None,
                    g.iso_date(day + dt.timedelta(days=7)) if processed else None, processed, factors,
                    stamp(created), stamp(updated)))
    return rows[: g.rows]


FEEDBACK_COLUMNS = (
    "prediction_id", "stock_code", "prediction_date", "predicted_probability", "predicted_class", "model_name",
    "actual_return_7d", "actual_class", "prediction_error", "absolute_error", "feedback_date", "is_processed",
    "factor_scores", "created_at", "updated_at",
)


def write_feedback(conn: sqlite3.Connection, g: Gen) -> None:
    """FeedbackSystem.record_predictions (one row per model), update_feedback_from_performance
    (the outcome, ``is_processed = TRUE``) and evaluate_model_performance."""
    upsert(conn, "feedback_data", FEEDBACK_COLUMNS, feedback_rows(g, g.utc_sql))
    evaluations = []
    for day in g.trading_days(max(1, math.ceil(g.rows / len(FEEDBACK_MODELS)))):
        for model in FEEDBACK_MODELS:
            evaluations.append((model, g.iso_date(day), *(g.uniform(0.3, 0.9, 4) for _ in range(4)),
                                0.5 if g.chance(0.3) else g.uniform(0.4, 0.9, 4), g.rng.randint(0, 200),
                                g.utc_sql(g.at(day, 19, 0, spread_s=120))))
    insert(conn, "model_performance_history", (
        "model_name", "evaluation_date", "accuracy", "precision_score", "recall_score", "f1_score", "auc_score",
        "feedback_count", "created_at"), evaluations[: g.rows])
