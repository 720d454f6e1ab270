// GENERATED from types/settings/*.schema.json by `npm run types` (core/settings/generate.ts). DO NOT EDIT BY HAND.
/**
 * The callhook settings file: one JSON object with one key per section. Every key is optional; a missing key takes its default, so an empty file (or no file) is the demo configuration.
 */
export interface Settings {
  ami: AmiSettings;
  calls: CallsSettings;
  cel: CelSettings;
  click_to_call: ClickToCallSettings;
  crm: CrmSettings;
  hooks: HooksSettings;
  http: HttpSettings;
  leadership: LeadershipSettings;
  log: LogSettings;
  numbers: NumbersSettings;
  recordings: RecordingsSettings;
  sandbox: SandboxSettings;
  store: StoreSettings;
}
/**
 * The Asterisk Manager Interface connection used for click-to-call (Originate). The manager user (manager.conf) needs `read = call` and `write = originate`. Only used when click_to_call.enabled is on.
 */
export interface AmiSettings {
  /**
   * Asterisk's AMI address.
   *
   * @default "127.0.0.1"
   */
  host: string;
  /**
   * AMI TCP port (manager.conf `port`).
   *
   * @default 5038
   */
  port: number;
  /**
   * The manager user ([name] in manager.conf).
   *
   * @default ""
   */
  username: string;
  /**
   * Secret: never logged or printed.
   *
   * @default ""
   */
  secret: string;
  /**
   * Ping every this many seconds; a Ping without an answer drops and re-opens the connection. 0 = no Ping.
   *
   * @default 15
   */
  keepalive_seconds: number;
  /**
   * An AMI action without an answer within this time fails (AMI_TIMEOUT) instead of hanging.
   *
   * @default 10000
   */
  action_timeout_ms: number;
  /**
   * Reconnect backoff after a lost connection: the first delay, doubled per failed attempt up to max (±20% jitter). A refused login is not retried: fix ami.username/ami.secret.
   */
  reconnect: {
    /**
     * @default 500
     */
    min_ms: number;
    /**
     * @default 30000
     */
    max_ms: number;
  };
}
/**
 * How CEL rows become calls: what is a trunk, which Local channels are real parties, click-to-call detection, when an unfinished call is given up. The defaults classify the bundled demo recording (trunks Local/…@pstn-in-…/@pstn-…, phones Local/NNN@phones-…) and FreePBX's usual trunk contexts.
 */
export interface CallsSettings {
  /**
   * Regular expressions (JavaScript syntax) matched against a CEL channame; a match marks the channel as a trunk (the external side). FreePBX example: "^PJSIP/my-provider-".
   *
   * @default ["^Local/[^@;]+@pstn(-in)?-","^DAHDI/"]
   */
  trunk_channel_patterns: string[];
  /**
   * Regular expressions matched against the dialplan context of a channel's first row (CHAN_START): channels that start in one of them came in from a trunk.
   *
   * @default ["^from-trunk","^from-pstn"]
   */
  trunk_contexts: string[];
  /**
   * Regular expressions matched against every context the caller's channel passes through; a match means it is dialing out over a trunk (FreePBX outbound routes are outrt-<id>), so the call is outgoing even before the trunk channel appears.
   *
   * @default ["^outrt-","^macro-dialout-trunk"]
   */
  outbound_contexts: string[];
  /**
   * Regular expressions matched against Local channel names. A Local pair that matches (or matches a trunk pattern) IS a party (a phone or a line), e.g. in test labs that emulate handsets with Local channels. Every other Local pair is dialplan plumbing (FreePBX Local/201@from-queue-…) and collapses into the real channel it reaches.
   *
   * @default ["^Local/[^@;]+@phones-"]
   */
  local_endpoint_patterns: string[];
  /**
   * Recognise click-to-call (AMI Originate): the primary channel's first ANSWER is AppDial2 '(Outgoing Line)' before it ran any dialplan. The caller number is then taken from the originated channel's endpoint (e.g. PJSIP/201-… → 201), because an Originate's CallerID often carries the customer's number.
   *
   * @default true
   */
  detect_originate: boolean;
  /**
   * A call that has not received a row for this long (by CEL eventtime) is finished and reported with complete='timeout' even though some LINKEDID_END never arrived. Keep it above the longest hold/park time.
   *
   * @default 7200
   */
  safety_timeout_seconds: number;
  /**
   * IANA time zone of the Asterisk server (CEL eventtime is local PBX time on FreePBX). Empty = the connector host's own zone. Only used to compare eventtime with the wall clock for the safety timeout.
   *
   * @default ""
   */
  pbx_time_zone: string;
}
/**
 * Where callhook reads Asterisk CEL rows from: a replay file (demo, tests) or the PBX's MariaDB/MySQL `cel` table (read-only).
 */
export interface CelSettings {
  /**
   * `replay` reads `replay.path` once and stops; `mariadb` polls the PBX's CEL table forever.
   *
   * @default "replay"
   */
  source: 'replay' | 'mariadb';
  replay: {
    /**
     * JSON Lines (.jsonl) or CSV (.csv) file with the FreePBX `cel` column names as keys / header. Relative to the settings file's folder; the default is the bundled demo recording.
     *
     * @default "examples/cel/demo.jsonl"
     */
    path: string;
    /**
     * Rows handed to the call assembler at a time.
     *
     * @default 500
     */
    batch_size: number;
  };
  mariadb: {
    /**
     * @default "127.0.0.1"
     */
    host: string;
    /**
     * @default 3306
     */
    port: number;
    /**
     * A user that only needs SELECT on the CEL table (the connector never writes there).
     *
     * @default "root"
     */
    user: string;
    /**
     * Password of that user. Never printed or logged (shown as "***").
     *
     * @default ""
     */
    password: string;
    /**
     * Database holding the CEL table (FreePBX: asteriskcdrdb).
     *
     * @default "asteriskcdrdb"
     */
    database: string;
    /**
     * @default "cel"
     */
    table: string;
    /**
     * CEL field name -> column name where the table differs, e.g. {"extra": "eventextra"} (Issabel). Without an extra column, detailed call statuses degrade to answered/missed.
     *
     * @default {}
     */
    column_aliases: {
      [k: string]: string;
    };
    /**
     * Rows per SELECT and per batch handed to the assembler (a large backlog is streamed in batches of this size).
     *
     * @default 1000
     */
    batch_size: number;
    /**
     * Poll interval while rows keep arriving.
     *
     * @default 250
     */
    poll_interval_min_ms: number;
    /**
     * Idle polls back off exponentially up to this interval.
     *
     * @default 5000
     */
    poll_interval_max_ms: number;
    /**
     * First wait after a lost connection or missing table; doubles on each failure.
     *
     * @default 500
     */
    retry_min_ms: number;
    /**
     * @default 30000
     */
    retry_max_ms: number;
    /**
     * How long a missing id (an insert not committed yet: concurrent inserts commit out of id order) holds back the rows after it before it is skipped. The default is above the worst commit lag measured on a loaded server (bench/cel-commit-lag: ~350 ms), with margin; raise it for a slow or remote database.
     *
     * @default 2000
     */
    gap_wait_ms: number;
    /**
     * How long a skipped id is still looked for after that; a row that turns up (a very late commit) is handed over late instead of being lost.
     *
     * @default 600000
     */
    gap_watch_ms: number;
    /**
     * The connector's own database (same server and credentials) where the cursor and unfinished calls are kept; created when missing. Never the PBX's database.
     *
     * @default "callhook"
     */
    state_database: string;
  };
}
/**
 * Click-to-call (the CRM asks, the connector sends AMI Originate: the employee's phone rings first, then the client is dialled) and responsible-manager routing (the dialplan asks through CURL() which extension to ring). See docs/click-to-call.md.
 */
export interface ClickToCallSettings {
  /**
   * Start the click-to-call/routing HTTP endpoints and the AMI connection.
   *
   * @default false
   */
  enabled: boolean;
  /**
   * Where the endpoints listen when the connector runs them on its own (before they are part of the admin server). Port 0 = any free port (tests).
   */
  listen: {
    /**
     * @default "127.0.0.1"
     */
    host: string;
    /**
     * @default 8078
     */
    port: number;
  };
  /**
   * Secret: the token the dialplan's CURL() and the Kommo widget send (?token=… or the X-Callhook-Token header). At least 16 characters; required when enabled.
   *
   * @default ""
   */
  token: string;
  bitrix24: {
    /**
     * Secret: auth[application_token] of the Bitrix24 app / outgoing webhook that sends ONEXTERNALCALLSTART. Required for the Bitrix24 endpoint.
     *
     * @default ""
     */
    application_token: string;
    /**
     * Who registers a click-to-call call in Bitrix24. `auto`: the CRM did when the event carries a CALL_ID (Bitrix24 ≥ 23.300.0): the connector only finishes it; otherwise the connector registers it once, as an outgoing call of the employee who clicked. `yes` / `no` force one behaviour.
     *
     * @default "auto"
     */
    crm_registers: 'auto' | 'yes' | 'no';
  };
  originate: {
    /**
     * The employee's channel, rung first. {extension} = the employee's internal number.
     *
     * @default "PJSIP/{extension}"
     */
    channel: string;
    /**
     * Dialplan context the client's number is dialled in once the employee answers.
     *
     * @default "from-internal"
     */
    context: string;
    /**
     * @default "1"
     */
    priority: string;
    /**
     * CallerID shown on the employee's phone. {number} = the client's number, {name} = the CRM entity name when known.
     *
     * @default "\"{number}\" <{number}>"
     */
    caller_id: string;
    /**
     * How long the employee's phone rings before the call is given up.
     *
     * @default 30
     */
    timeout_seconds: number;
    /**
     * CRM user id → internal number, for employees whose CRM profile has no internal number (UF_PHONE_INNER).
     *
     * @default {}
     */
    extension_by_user: {
      [k: string]: string;
    };
  };
  autodistribution: {
    /**
     * The routing answer never takes longer: a slow or dead CRM gets an empty answer (the dialplan's normal route) after this.
     *
     * @default 400
     */
    budget_ms: number;
    /**
     * A number's answer (also "nobody") is reused for this long.
     *
     * @default 300
     */
    cache_seconds: number;
  };
  /**
   * Requests per minute per client address on each endpoint; more get HTTP 429.
   *
   * @default 600
   */
  rate_limit_per_minute: number;
}
/**
 * Which CRM calls are delivered to and how: the Bitrix24 portal (incoming webhook or OAuth application) or the Kommo account (long-lived token), registration and missed-call rules, and the durable outbox's retry policy. `type: demo` (the default) starts a local Bitrix24 server on a free loopback port and delivers there: nothing reaches a real CRM.
 */
export interface CrmSettings {
  /**
   * `demo`: a local Bitrix24 server started by the connector itself (loopback only); `demo_kommo`: a local Kommo server likewise; `bitrix24`: the portal in `bitrix24`; `kommo`: the account in `kommo`; `none`: hooks run, nothing is sent (every CRM action is recorded as not sent).
   *
   * @default "demo"
   */
  type: 'demo' | 'demo_kommo' | 'bitrix24' | 'kommo' | 'none';
  /**
   * A PEM file of extra CA certificates trusted for the CRM's HTTPS (an on-premise Bitrix24 or a proxy with its own CA), added to the system's CAs. Relative to the settings file's folder or absolute; '' = the system's CAs only.
   *
   * @default ""
   */
  ca_file: string;
  bitrix24: {
    /**
     * Incoming webhook base URL, https://<portal>/rest/<user_id>/<code>/ (scopes telephony, crm, user; see docs/bitrix24.md). Secret: never logged or printed. Leave empty to use `oauth`.
     *
     * @default ""
     */
    webhook_url: string;
    /**
     * OAuth 2.0 application (local or Marketplace app). The connector refreshes the access token itself and keeps the rotated refresh token in its store; a failed refresh stops the portal with a clear status (never a retry loop).
     */
    oauth: {
      /**
       * https://<portal>.bitrix24.<zone> (the app's client_endpoint without /rest/).
       *
       * @default ""
       */
      portal_url: string;
      /**
       * @default ""
       */
      client_id: string;
      /**
       * Secret: never logged or printed.
       *
       * @default ""
       */
      client_secret: string;
      /**
       * The refresh token obtained at installation (used until the store holds a newer one). Secret.
       *
       * @default ""
       */
      refresh_token: string;
      /**
       * Token endpoint.
       *
       * @default "https://oauth.bitrix.info/oauth/token/"
       */
      token_url: string;
    };
    /**
     * The portal's leaky-bucket drain rate (2 on most plans, 5 on Enterprise). The connector's token bucket sends no faster.
     *
     * @default 2
     */
    requests_per_second: number;
    /**
     * The portal's burst threshold (50 on most plans, 250 on Enterprise); the connector keeps a margin below it.
     *
     * @default 50
     */
    burst: number;
    /**
     * Timeout of one REST request (Bitrix24 itself stops a request after 60 s).
     *
     * @default 30000
     */
    request_timeout_ms: number;
    /**
     * How often the employee directory (user.get: UF_PHONE_INNER, PERSONAL_MOBILE, WORK_PHONE, PERSONAL_PHONE) is re-read.
     *
     * @default 300
     */
    users_refresh_seconds: number;
    /**
     * When the call card is shown to an employee: `ringing` (when their phone rings), `answered` (when they answer), `never`.
     *
     * @default "ringing"
     */
    show_card: 'ringing' | 'answered' | 'never';
    /**
     * Whether registration creates a lead/contact (CRM_CREATE) for an unknown number, per direction.
     */
    create_entity: {
      /**
       * @default true
       */
      incoming: boolean;
      /**
       * @default false
       */
      outgoing: boolean;
    };
    /**
     * Register internal calls (extension to extension) too. Off: they run through the hooks but nothing is sent (Bitrix24 files them as portal calls without a CRM entity anyway).
     *
     * @default false
     */
    register_local_calls: boolean;
    /**
     * CRM_SOURCE of created leads (a STATUS_ID of crm.status.list ENTITY_ID=SOURCE); empty = the portal's default.
     *
     * @default ""
     */
    crm_source: string;
    /**
     * ADD_TO_CHAT of finish (sent explicitly: the portal's own default differs between versions).
     *
     * @default true
     */
    add_to_chat: boolean;
    /**
     * The company-wide default user: registers calls no known employee took part in (an IVR-only call, an extension without a CRM user) and is the last fallback for missed calls. 0 = none: such a call is registered by USER_PHONE_INNER, which Bitrix24 refuses when no user has that number (the call is then parked with that answer).
     *
     * @default 0
     */
    default_user_id: number;
    missed_call: {
      /**
       * Who a missed incoming call is finished on: `entity` (the client's responsible), `last_rung` (the employee whose phone rang last), `default` (default_user_id). On failure each falls back to the next: entity → last_rung → default.
       *
       * @default "entity"
       */
      responsible: 'entity' | 'last_rung' | 'default';
      /**
       * Per trunk (line) number, the default user for missed calls on it, e.g. {"+73432723033": 5}; replaces default_user_id for those trunks.
       *
       * @default {}
       */
      default_user_by_trunk: {
        [k: string]: number;
      };
      /**
       * Create a task for the responsible when an incoming call is missed (tasks.task.add, through process_task_creation_params).
       *
       * @default false
       */
      create_task: boolean;
      /**
       * @default 60
       */
      task_deadline_minutes: number;
    };
  };
  /**
   * The Kommo (amoCRM) account, API v4 (docs/kommo.md).
   */
  kommo: {
    /**
     * The account's own address, https://<subdomain>.kommo.com (or .amocrm.ru / .amocrm.com); never the common domain.
     *
     * @default ""
     */
    base_url: string;
    /**
     * Long-lived token of a private integration (Settings → Integrations → your integration → Keys and scopes → Generate long-lived token; admin only). Secret: never logged or printed.
     *
     * @default ""
     */
    long_lived_token: string;
    /**
     * Kommo allows at most 7 requests per second per account; the connector never sends more in any one-second window.
     *
     * @default 7
     */
    requests_per_second: number;
    /**
     * @default 30000
     */
    request_timeout_ms: number;
    /**
     * `source` of registered calls (shown in the call note).
     *
     * @default "callhook"
     */
    source: string;
    /**
     * Extension → Kommo user id, e.g. {"201": 5}: Kommo users have no extension field.
     *
     * @default {}
     */
    users: {
      [k: string]: number;
    };
    /**
     * Responsible for calls no mapped employee took part in, and the last fallback for missed calls. 0 = none (the call is sent without responsible_user_id).
     *
     * @default 0
     */
    default_user_id: number;
    /**
     * What an unknown client number gets, per direction: `unsorted` (an incoming SIP item in Unsorted, which Kommo turns into a call event itself; incoming only), `contact` (a contact with the number), `contact_and_lead` (a contact and a lead), `none` (Kommo adds no call: there is no entity).
     */
    unknown_number: {
      /**
       * @default "unsorted"
       */
      incoming: 'unsorted' | 'contact' | 'contact_and_lead' | 'none';
      /**
       * @default "none"
       */
      outgoing: 'contact' | 'contact_and_lead' | 'none';
    };
    /**
     * Pipeline of unsorted items and created leads; 0 = the account's main pipeline.
     *
     * @default 0
     */
    pipeline_id: number;
    missed_call: {
      /**
       * Who a missed incoming call is put on: `entity` (the contact's responsible), `last_rung`, `default` (default_user_id); each falls back to the next.
       *
       * @default "entity"
       */
      responsible: 'entity' | 'last_rung' | 'default';
    };
  };
  /**
   * The durable outbox: every CRM action is written before it is sent and marked with the answer after.
   */
  delivery: {
    /**
     * Calls processed at the same time (a call's own actions always go in order).
     *
     * @default 16
     */
    concurrency: number;
    /**
     * First wait before an action is retried after a transient failure (503, 429, 5xx, timeout, lost connection); doubles with jitter.
     *
     * @default 1000
     */
    retry_min_ms: number;
    /**
     * @default 60000
     */
    retry_max_ms: number;
    /**
     * A request whose answer never came (timeout, reset, the connector killed while it was in flight) may still be executing at the CRM (Bitrix24 stops a request after 60 s). It is not sent again before this long after it was sent, so the late original and the resend cannot both create something.
     *
     * @default 65000
     */
    in_doubt_wait_ms: number;
    /**
     * An answer that is not what the CRM documents (HTML page, truncated JSON, a 200 with an error inside, an unknown error code) is retried this many times, then the call is parked with that answer's first bytes.
     *
     * @default 5
     */
    bad_answer_attempts: number;
    /**
     * A call whose action still fails transiently after this long is parked (visible, counted, reprocessable). 0 = never: while the CRM is down, calls wait and drain oldest first when it returns.
     *
     * @default 0
     */
    park_after_hours: number;
  };
}
/**
 * The customization hook host: where hook files live, which are on, packs, per-point time budgets, hot reload. The catalogue of hook points is docs/hooks.md. Isolate limits (memory, CPU, http, circuit breaker) and the isolation mode are the `sandbox` section's.
 */
export interface HooksSettings {
  /**
   * The whole customizer on/off. Off: every hook point yields its documented default.
   *
   * @default true
   */
  enabled: boolean;
  /**
   * Folder of loose hook files (*.ts), relative to the settings file's folder or absolute. Each file implements one hook point (named after it, or declared with defineHook). Empty (the default) = no loose hook files: every point without a pack hook uses its default. Only the demo (callhook run without a settings file) uses the example hooks (examples/hooks in the callhook installation).
   *
   * @default ""
   */
  folder: string;
  /**
   * Per hook point on/off, e.g. {"process_client_phone": false}. Absent = on.
   *
   * @default {}
   */
  points: {
    [k: string]: boolean;
  };
  /**
   * Per file on/off by display name: loose files by file name ("blacklist.ts"), pack files as "<pack>/<file>". Absent = on. A name that is no hook file of the folder or of a pack is an error (with a suggestion).
   *
   * @default {}
   */
  files: {
    [k: string]: boolean;
  };
  /**
   * Settings of loose hook files, by file name ("post_registration.ts": {"webhook_url": "https://..."}): what the hook reads as `settings` (read-only). A file without an entry gets {}. A name that is no hook file of the folder is an error. For settings with a schema and defaults, make the hooks a pack (settings_schema).
   *
   * @default {}
   */
  file_settings: {
    [k: string]: {
      [k: string]: unknown;
    };
  };
  /**
   * Hook packs (folders with callhook.pack.json), loaded in this order before loose files.
   *
   * @default []
   */
  packs: {
    /**
     * Folder of the pack (holding callhook.pack.json), relative to the settings file's folder or absolute.
     */
    path: string;
    /**
     * @default true
     */
    enabled: boolean;
    /**
     * The pack's own settings, validated against the settings_schema of its manifest (defaults applied) when the settings are loaded and whenever the pack is reloaded.
     *
     * @default {}
     */
    settings: {
      [k: string]: unknown;
    };
    /**
     * What this pack's hooks may reach through http, approved by you: host:port entries (crm.example.com:443, 10.0.0.5:8080, [fd00::1]:443). The pack's manifest may narrow this list (its allow_hosts), never widen it; an entry the manifest asks for that is not here is refused and reported.
     *
     * @default []
     */
    allow_hosts: string[];
  }[];
  /**
   * Per hook point time budget overrides in milliseconds. A point's budget (this value, else the catalogue's default in docs/hooks.md) is the wall-clock deadline of one invocation at that point, awaited http included. The CPU time of the synchronous part is further capped by sandbox.cpu_ms_per_call: the effective CPU budget is the smaller of the two.
   *
   * @default {}
   */
  budgets: {
    [k: string]: number;
  };
  /**
   * Recordings root: process_record_file_path results are confined to it ('..', absolute paths elsewhere and symlinks out are refused). Relative to the settings file's folder or absolute.
   *
   * @default "/var/spool/asterisk/monitor"
   */
  recordings_root: string;
  /**
   * Quiet time after the last change of a hook file before it is reloaded.
   *
   * @default 100
   */
  debounce_ms: number;
  /**
   * Type-check each hook against the call_full types before it replaces the running version.
   *
   * @default true
   */
  typecheck: boolean;
  /**
   * Watch the folder and packs and hot-reload changed files.
   *
   * @default true
   */
  watch: boolean;
  /**
   * How long a replaced version may finish in-flight invocations before its isolate is disposed.
   *
   * @default 30000
   */
  drain_deadline_ms: number;
  /**
   * What loose hook files may reach through http: host:port entries (crm.example.com:443, 10.0.0.5:8080, [fd00::1]:443). A name that resolves to a link-local address (169.254.0.0/16, fe80::/10, the cloud metadata service) is refused unless that address (or the metadata service's own name) is listed. Packs get their own list (hooks.packs[i].allow_hosts).
   *
   * @default []
   */
  allow_hosts: string[];
}
/**
 * The operator's HTTP server (admin page, /status, /metrics, call traces, what-if, reprocess, hook switches). Off unless `port` is set. Every endpoint but GET /health needs a signed-in user or a bearer token.
 */
export interface HttpSettings {
  /**
   * TCP port; null = no HTTP server. 0 = any free port (printed at start).
   *
   * @default null
   */
  port: number | null;
  /**
   * Address to listen on. Anything but a loopback address (127.0.0.1, ::1, localhost) is refused at start-up unless `users` or `tokens` are set.
   *
   * @default "127.0.0.1"
   */
  bind: string;
  /**
   * Who may sign in to the admin page. `password_hash` is what `callhook hash-password` prints (scrypt); there is no default user or password.
   *
   * @default []
   */
  users: {
    name: string;
    /**
     * scrypt$N$r$p$salt$hash as printed by `callhook hash-password`.
     */
    password_hash: string;
  }[];
  /**
   * Bearer tokens for scripts (`Authorization: Bearer <token>`), at least 24 characters each. Secret: never logged or printed.
   *
   * @default []
   */
  tokens: string[];
  /**
   * Mark the session cookie Secure (set it when the page is reached through HTTPS, e.g. behind a TLS proxy).
   *
   * @default false
   */
  secure_cookies: boolean;
  /**
   * How long a sign-in lasts.
   *
   * @default 12
   */
  session_hours: number;
  /**
   * Failed sign-ins allowed per client address and per user name within a minute; further attempts get 429.
   *
   * @default 5
   */
  login_attempts_per_minute: number;
  /**
   * Call records, stage traces and outbox entries of calls older than this (by last change) are deleted, checked hourly. 0 = kept forever.
   *
   * @default 30
   */
  retention_days: number;
}
/**
 * Active/standby failover for a MariaDB store: every instance configured for the same PBX competes for a lease row (with a fencing token) in the connector's database; only the holder reads CEL, runs hooks for calls and sends to the CRM. A SQLite store is one instance: leadership is always held. See docs/failover.md.
 */
export interface LeadershipSettings {
  /**
   * How long a lease lasts without a renewal (the database's clock). A standby takes over at most lease_ms + renew_ms after the leader stopped renewing (died, froze, lost its database).
   *
   * @default 6000
   */
  lease_ms: number;
  /**
   * How often the leader renews its lease and a standby tries to take it. Must be well below lease_ms (a third or less).
   *
   * @default 1500
   */
  renew_ms: number;
  /**
   * This instance's name in the lease row, /status and logs. Empty = <host name>:<pid>:<random>.
   *
   * @default ""
   */
  instance: string;
}
/**
 * The connector's own log (pino, JSON lines on stderr). Secrets (passwords, tokens, webhook URLs) are redacted whatever the level.
 */
export interface LogSettings {
  /**
   * Lowest level written: 'trace' and 'debug' for troubleshooting, 'info' for normal operation, 'silent' for none. The CALLHOOK_LOG_LEVEL environment variable overrides it.
   *
   * @default "info"
   */
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
/**
 * How a raw number from Asterisk becomes a call_full Number (base, variants, is_local, custom): dialling prefixes, which numbers are employees' (extensions and FMC mobiles), and auto-replacement rules. See docs/numbers.md.
 */
export interface NumbersSettings {
  /**
   * Dialling prefixes, digits with an optional leading "+", e.g. ["+7495", "8495", "+7", "7", "8"]. A number's base is the number with the LONGEST matching prefix removed; its variants are the base, then prefix+base for every prefix in this order (used to search the CRM). Extensions are never stripped.
   *
   * @default ["+7","8","7"]
   */
  prefixes: string[];
  /**
   * A number of 1 to this many digits (no "+") is an employee's extension: is_local is true and no prefix is stripped. Longer numbers are external unless FMC says otherwise.
   *
   * @default 4
   */
  internal_max_length: number;
  /**
   * Employees' mobile numbers that count as internal (FMC). Full match including prefixes: list every form the PBX may send ("+79001234567" does not cover "89001234567"). Spaces, dashes, dots and parentheses are ignored.
   *
   * @default []
   */
  fmc_numbers: string[];
  /**
   * Text file of FMC patterns, one per line: digits with an optional leading "+", X = any single digit (e.g. 8123456XXXX); blank lines and # comments are ignored. Re-read about once a second when it changes; may be missing (no patterns until it appears). A relative path is resolved against the settings file's folder. Empty = no file.
   *
   * @default ""
   */
  fmc_patterns_file: string;
  /**
   * Auto-replacement rules, tried in order on the cleaned number; the FIRST rule whose pattern matches wins and its result becomes the Number's custom (which the connector then uses instead of original). No match = custom stays empty.
   *
   * @default []
   */
  auto_replace: {
    /**
     * JavaScript regular expression (no flags), e.g. "^\\+7(\\d{10})$". Anchor it with ^…$ to rewrite the whole number; otherwise only the first match is replaced.
     */
    pattern: string;
    /**
     * Replacement text; $1, $2 … insert the pattern's groups, $& the whole match, $$ a literal $. E.g. "8$1".
     */
    replacement: string;
  }[];
}
/**
 * Call recordings delivered to the CRM: waiting for the PBX to finish writing the file, MP3 conversion (Kommo's player plays MP3 only), and the signed links the connector serves to Kommo users (docs/recordings.md). The files are found under hooks.recordings_root.
 */
export interface RecordingsSettings {
  /**
   * A file is finished when its size has not changed for this long.
   *
   * @default 2000
   */
  stable_ms: number;
  /**
   * How long after the call ended a missing, empty, unreadable or still-growing file is waited for (retried; other calls go on); then the call is delivered without it and the trace says why.
   *
   * @default 120
   */
  wait_seconds: number;
  /**
   * Time between two looks at a file that is not ready.
   *
   * @default 5000
   */
  retry_ms: number;
  mp3: {
    /**
     * Which CRMs get MP3: `kommo` (its player plays MP3 only), `always`, `never`. A file already ending in .mp3 is sent as it is.
     *
     * @default "kommo"
     */
    convert: 'kommo' | 'always' | 'never';
    /**
     * The encoder's command line; {in} and {out} are replaced by the paths (no shell). Debian: apt-get install lame.
     *
     * @default ["lame","--quiet","--preset","cbr","32","{in}","{out}"]
     *
     * @minItems 1
     */
    encoder: [string, ...string[]];
    /**
     * Time budget of one conversion; the encoder is killed after it and its stderr kept on the call.
     *
     * @default 10000
     */
    timeout_ms: number;
    /**
     * Where converted files are kept (served by the link server). '' = callhook-mp3 in the system's temporary folder.
     *
     * @default ""
     */
    folder: string;
  };
  /**
   * The signed links Kommo gets for recordings (its users' browsers fetch them from the connector).
   */
  link: {
    /**
     * The base URL Kommo users reach the connector's recording server at, e.g. https://pbx.example.com:8443 (a reverse proxy in front of `listen`). '' = http://<listen>.
     *
     * @default ""
     */
    public_url: string;
    /**
     * host:port the recording server listens on; port 0 = a free port.
     *
     * @default "127.0.0.1:8091"
     */
    listen: string;
    /**
     * HMAC key of the links (at least 32 characters). Secret. '' = a random key per start: links stop working after a restart.
     *
     * @default ""
     */
    secret: string;
    /**
     * How long a link works after the call (Kommo keeps the link in the call note; a player after this answers 410 Gone).
     *
     * @default 2160
     */
    lifetime_hours: number;
  };
}
/**
 * Limits and isolation of the isolated-vm sandbox every customer hook runs in: this section is the only place for them. Per-point wall-clock time budgets are the hooks section's (hooks.budgets); http allow lists are per hook file or pack (hooks.allow_hosts, hooks.packs[i].allow_hosts); here are the limits every hook gets.
 */
export interface SandboxSettings {
  /**
   * 'process': hook isolates live in supervised child processes; a hook that crashes or wedges its process (V8 abort, uninterruptible code) costs only that hook: it is moved to a process of its own and the other hooks' calls are re-run. 'inline': isolates live in the connector's own process (faster to start, one process less), but such a hook takes the connector down (docs/sandbox.md says which hooks).
   *
   * @default "process"
   */
  isolation: 'process' | 'inline';
  /**
   * Heap limit of each hook's isolate in MB (V8 treats it as a guideline; a hook may briefly overshoot it 2-3 times). A hook that hits it fails with HOOK_OOM and gets a fresh isolate.
   *
   * @default 32
   */
  memory_mb: number;
  /**
   * Ceiling on the heaps of all hooks of one sandbox process together, in MB (the connector's own process in 'inline' isolation). Checked every second; past it, the hook holding the most memory has its isolate discarded (its module state is lost) and its next call fails with HOOK_MEMORY_CEILING. memory_mb bounds one hook; this bounds them all.
   *
   * @default 512
   */
  total_memory_mb: number;
  /**
   * CPU ceiling of the synchronous part of any hook call in ms, whatever the point (HOOK_TIMEOUT beyond it): how long one hook may hold the thread that runs its isolate. The wall-clock deadline of a call is its hook point's time budget (hooks.budgets, defaults in docs/hooks.md); the effective CPU budget is the smaller of this value and that budget.
   *
   * @default 50
   */
  cpu_ms_per_call: number;
  /**
   * Defaults for the hook http API. A hook reaches only the hosts allow-listed for it or its pack.
   */
  http: {
    /**
     * Timeout of one http request in ms (a hook may ask for less, never more).
     *
     * @default 1500
     */
    timeout_ms: number;
    /**
     * Largest response body a hook may receive; the connection is cut past it (HOOK_HTTP_FAILED).
     *
     * @default 1048576
     */
    max_response_bytes: number;
    /**
     * Largest request body a hook may send (UTF-8 bytes); a larger one is refused before anything is sent (HOOK_HTTP_REFUSED).
     *
     * @default 262144
     */
    max_request_bytes: number;
    /**
     * Requests one hook may have in flight at once (each holds one socket, fire-and-forget requests included); more are refused (HOOK_HTTP_REFUSED).
     *
     * @default 4
     */
    max_concurrent_requests: number;
    /**
     * Requests one call of a hook may make in all; more are refused (HOOK_HTTP_REFUSED).
     *
     * @default 20
     */
    max_requests_per_call: number;
  };
  /**
   * A hook that fails this many calls in a row is skipped (its default applies, HOOK_COOLING_DOWN) for cool_down_ms, then tried again.
   */
  circuit_breaker: {
    /**
     * Consecutive failures that open the breaker.
     *
     * @default 5
     */
    failure_threshold: number;
    /**
     * How long a failing hook is skipped, in ms.
     *
     * @default 30000
     */
    cool_down_ms: number;
  };
}
/**
 * The connector's own database: the CEL resume point, the pipeline's inbox of stage events, the outbox of CRM actions and the call traces, changed together in transactions. Never the PBX's database.
 */
export interface StoreSettings {
  /**
   * `auto`: MariaDB when the CEL source is `mariadb` (same server and credentials), else the embedded SQLite file. `sqlite` / `mariadb`: that one.
   *
   * @default "auto"
   */
  kind: 'auto' | 'sqlite' | 'mariadb';
  sqlite: {
    /**
     * The SQLite database file, relative to the settings file's folder or absolute. Empty = a fresh temporary file for this run only (the demo).
     *
     * @default ""
     */
    path: string;
  };
  /**
   * Empty host/user = the CEL source's server and credentials.
   */
  mariadb: {
    /**
     * @default ""
     */
    host: string;
    /**
     * @default 0
     */
    port: number;
    /**
     * @default ""
     */
    user: string;
    /**
     * Secret: never logged or printed.
     *
     * @default ""
     */
    password: string;
    /**
     * The connector's database, created when missing (empty = cel.mariadb.state_database).
     *
     * @default ""
     */
    database: string;
  };
}
