-- The LLM gateway (modules/ai/): the workspace's own choice of model, and
-- the meter of every call made through it.
--
-- ai_settings: one row at most. provider NULL means the installation's
-- default (its kanban_insights_llm_* directives); 'none' turns the model
-- off for this workspace. api_key is sealed with AES-256-GCM by the module
-- (kanban_webhooks_key) before it gets here and never leaves it again: the
-- API answers api_key_set only. monthly_token_budget NULL: no limit.
--
-- ai_calls: one row a call (its retries included), counted in the
-- workspace's days (015). A person erased keeps the meter, without them.

CREATE TABLE ai_settings (
    id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
    provider              text CHECK (provider IN ('openai', 'anthropic',
                                                   'none')),
    base_url              text CHECK (length(base_url) <= 2000),
    model                 text CHECK (length(model) BETWEEN 1 AND 200),
    api_key               text,
    monthly_token_budget  bigint CHECK (monthly_token_budget >= 0),
    enabled_features      text[] NOT NULL
                          DEFAULT '{insights,updates,agents}',
    updated_by            uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ai_calls (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    day            date NOT NULL DEFAULT workspace_today(),
    feature        text NOT NULL CHECK (length(feature) BETWEEN 1 AND 40),
    user_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    provider       text NOT NULL,
    model          text NOT NULL,
    status         text NOT NULL,
    input_tokens   int NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens  int NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    attempts       int NOT NULL DEFAULT 1,
    latency_ms     int NOT NULL CHECK (latency_ms >= 0)
);

CREATE INDEX ai_calls_day ON ai_calls (day);


-- the tokens of this calendar month (the workspace's) and what is left
CREATE FUNCTION ai_budget() RETURNS TABLE (budget bigint, used bigint,
                                           remaining bigint)
LANGUAGE sql STABLE AS $$
    SELECT s.monthly_token_budget, u.used,
           CASE WHEN s.monthly_token_budget IS NULL THEN NULL
                ELSE greatest(s.monthly_token_budget - u.used, 0) END
      FROM (SELECT coalesce(sum(input_tokens + output_tokens), 0)::bigint used
              FROM ai_calls
             WHERE day >= date_trunc('month', workspace_today())::date) u
      LEFT JOIN ai_settings s ON true
$$;

CREATE FUNCTION ai_budget_exhausted() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT remaining = 0 FROM ai_budget()), false)
$$;


-- what a call needs to know, one row always: the workspace's choice (NULLs
-- where the installation's default applies), whether the feature may use
-- the model, and whether the month's budget is spent
CREATE FUNCTION ai_call_settings(feature text, OUT provider text,
    OUT base_url text, OUT model text, OUT api_key text,
    OUT feature_enabled boolean, OUT budget_exhausted boolean)
LANGUAGE sql STABLE AS $$
    SELECT s.provider, s.base_url, s.model, s.api_key,
           coalesce(feature = ANY (s.enabled_features), true),
           ai_budget_exhausted()
      FROM (SELECT 1) one LEFT JOIN ai_settings s ON true
$$;


-- GET /api/v1/ai/settings: the installation's default beside the
-- workspace's choice, never the key
CREATE FUNCTION ai_settings_json(default_provider text, default_model text,
                                 default_configured boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'provider', s.provider,
               'base_url', s.base_url,
               'model', s.model,
               'api_key_set', coalesce(s.api_key IS NOT NULL, false),
               'monthly_token_budget', s.monthly_token_budget,
               'enabled_features',
                   to_jsonb(coalesce(s.enabled_features,
                                     '{insights,updates,agents}'::text[])),
               'updated_at', s.updated_at,
               'installation', jsonb_build_object(
                   'provider', default_provider,
                   'model', default_model,
                   'configured', default_configured),
               'budget', (SELECT jsonb_build_object('used', b.used,
                                                    'remaining', b.remaining)
                            FROM ai_budget() b))
      FROM (SELECT 1) one LEFT JOIN ai_settings s ON true
$$;


-- PUT: the whole choice at once; the key kept when none is sent
-- (key_sent false), removed by null, replaced (sealed) otherwise; answers
-- as GET does (each statement of this function sees the one before)
CREATE FUNCTION ai_settings_put(actor uuid, b jsonb, key_sent boolean,
                                sealed text, default_provider text,
                                default_model text,
                                default_configured boolean) RETURNS jsonb
LANGUAGE sql AS $$
    INSERT INTO ai_settings AS s (provider, base_url, model, api_key,
                                  monthly_token_budget, enabled_features,
                                  updated_by)
    VALUES (b->>'provider', b->>'base_url', b->>'model', sealed,
            (b->>'monthly_token_budget')::bigint,
            CASE WHEN jsonb_typeof(b->'enabled_features') = 'array'
                 THEN array(SELECT DISTINCT x
                              FROM jsonb_array_elements_text(
                                       b->'enabled_features') x
                             ORDER BY x)
                 ELSE '{insights,updates,agents}' END,
            actor)
    ON CONFLICT (id) DO UPDATE
       SET provider = EXCLUDED.provider,
           base_url = EXCLUDED.base_url,
           model = EXCLUDED.model,
           api_key = CASE WHEN key_sent THEN EXCLUDED.api_key
                          ELSE s.api_key END,
           monthly_token_budget = EXCLUDED.monthly_token_budget,
           enabled_features = EXCLUDED.enabled_features,
           updated_by = actor,
           updated_at = now();

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'ai_settings', NULL, 'updated',
            (b - 'api_key') || jsonb_build_object('api_key_changed',
                                                  key_sent));

    SELECT ai_settings_json(default_provider, default_model,
                            default_configured);
$$;


-- GET /api/v1/ai/usage: per day, feature and person, with the month's
-- budget
CREATE FUNCTION ai_usage_json(f date, t date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'from', f, 'to', t,
        'items', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'day', x.day, 'feature', x.feature,
                       'user_id', x.user_id, 'user_name', x.user_name,
                       'calls', x.calls, 'failures', x.failures,
                       'input_tokens', x.input_tokens,
                       'output_tokens', x.output_tokens,
                       'p50_latency_ms', x.p50, 'p95_latency_ms', x.p95)
                       ORDER BY x.day, x.feature, x.user_name NULLS LAST)
              FROM (SELECT c.day, c.feature, c.user_id,
                           min(u.name) user_name,
                           count(*) calls,
                           count(*) FILTER (WHERE c.status <> 'completed')
                               failures,
                           sum(c.input_tokens) input_tokens,
                           sum(c.output_tokens) output_tokens,
                           round(percentile_cont(0.5) WITHIN GROUP
                                 (ORDER BY c.latency_ms))::int p50,
                           round(percentile_cont(0.95) WITHIN GROUP
                                 (ORDER BY c.latency_ms))::int p95
                      FROM ai_calls c
                      LEFT JOIN users u ON u.id = c.user_id
                     WHERE c.day BETWEEN f AND t
                     GROUP BY c.day, c.feature, c.user_id) x),
            '[]'::jsonb),
        'month', (SELECT jsonb_build_object('budget', b.budget,
                                            'used', b.used,
                                            'remaining', b.remaining)
                    FROM ai_budget() b))
$$;
