/* The dashboard's only way to the service: sign-in, the bearer token, conditional requests
   and the live change stream. The token lives in sessionStorage (this tab, until it closes or
   expires), never in an address; the secret is sent once, in a form-encoded POST body. */
(function () {
  'use strict';

  const SB = (window.SB = window.SB || {});
  const API = '/api/v1';
  const SESSION_KEY = 'spring-breeze.dashboard.session';
  const EXPIRY_MARGIN_MS = 5000;
  const expiredListeners = [];

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || 'HTTP ' + status);
      this.status = status;
      this.detail = detail || '';
    }
  }

  function base64UrlJson(part) {
    const padded = part.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /* The token's claims, for showing who is signed in (the server verifies them, not us). */
  function claimsOf(token) {
    try {
      return base64UrlJson(token.split('.')[1]);
    } catch (error) {
      return {};
    }
  }

  function readSession() {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    try {
      const session = JSON.parse(raw);
      if (typeof session.token === 'string' && Date.now() < session.expiresAt) return session;
    } catch (error) {
      /* unreadable: forget it */
    }
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }

  function signOut() {
    sessionStorage.removeItem(SESSION_KEY);
  }

  function onExpired(listener) {
    expiredListeners.push(listener);
  }

  function expired() {
    signOut();
    for (const listener of expiredListeners) listener();
  }

  async function problemDetail(response) {
    try {
      const problem = await response.json();
      return typeof problem.detail === 'string' ? problem.detail : '';
    } catch (error) {
      return '';
    }
  }

  /* OAuth2 client credentials (form-encoded): the answer's token is kept for this tab. */
  async function signIn(clientId, clientSecret) {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    const response = await fetch(API + '/auth/token', {
      method: 'POST',
      body: body,
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
    const answer = await response.json();
    const claims = claimsOf(answer.access_token);
    const session = {
      token: answer.access_token,
      expiresAt: Date.now() + Number(answer.expires_in) * 1000 - EXPIRY_MARGIN_MS,
      role: typeof claims.role === 'string' ? claims.role : null,
      city: typeof claims.city === 'string' ? claims.city : null,
      clientId: clientId,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    return session;
  }

  /* GET with the token and, when we hold an answer, its ETag: 304 means "unchanged". The
     browser's cache is bypassed; this module keeps the answers itself. */
  async function get(path, options) {
    const opts = options || {};
    const headers = { Accept: 'application/json' };
    if (opts.auth !== false) {
      const session = readSession();
      if (!session) {
        expired();
        throw new ApiError(401, 'not signed in');
      }
      headers.Authorization = 'Bearer ' + session.token;
    }
    if (opts.etag) headers['If-None-Match'] = opts.etag;
    const response = await fetch(API + path, {
      headers: headers,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (response.status === 304) return { status: 304, etag: opts.etag, data: undefined };
    if (response.status === 401 && opts.auth !== false) {
      expired();
      throw new ApiError(401, await problemDetail(response));
    }
    if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
    return { status: response.status, etag: response.headers.get('ETag'), data: await response.json() };
  }

  /* One answer of the API kept up to date. Views with ETags are asked every tick, cheaply;
     lists without them (`conditional: false`) every `everyTicks` ticks. A 403 hides what the
     role may not see. */
  class Resource {
    constructor(path, options) {
      const opts = options || {};
      this.path = path;
      this.auth = opts.auth !== false;
      this.conditional = opts.conditional !== false;
      this.everyTicks = opts.everyTicks || 1;
      this.etag = null;
      this.text = null;
      this.data = undefined;
      this.forbidden = false;
      this.pending = null; // the refresh under way
      this.again = false; // asked for again while under way
    }

    get loaded() {
      return this.data !== undefined || this.forbidden;
    }

    async refresh() {
      let answer;
      try {
        answer = await get(this.path, { etag: this.etag, auth: this.auth });
      } catch (error) {
        if (error.status === 403) {
          const changed = !this.forbidden;
          this.forbidden = true;
          this.data = null;
          return changed;
        }
        throw error;
      }
      if (answer.status === 304) return false;
      const text = JSON.stringify(answer.data);
      this.etag = answer.etag;
      this.forbidden = false;
      if (text === this.text) return false;
      this.text = text;
      this.data = answer.data;
      return true;
    }
  }

  /* Conditional polling: about once a second without the change stream, rarely beside it.
     Each resource reports its change as soon as it arrives, so the first panels paint before
     the last. */
  class Poller {
    constructor(resources, onChange, onStatus, intervalMs) {
      this.resources = resources;
      this.onChange = onChange;
      this.onStatus = onStatus;
      this.intervalMs = intervalMs || 1000;
      this.ticks = 0;
      this.timer = null;
      this.running = false;
    }

    start() {
      this.running = true;
      this.tick();
    }

    stop() {
      this.running = false;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
    }

    /* From the next tick on; a tick already waiting is moved to `intervalMs` from now. */
    setInterval(intervalMs) {
      this.intervalMs = intervalMs;
      if (this.timer === null) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.tick(), intervalMs);
    }

    /* Refresh these now (a change was announced). A resource already being asked is asked
       once more when its answer arrives: that answer may predate the change. */
    async refresh(resources) {
      await this.settle(resources.filter((r) => !r.forbidden).map((r) => this.refreshOne(r, true)));
    }

    refreshOne(resource, fresh) {
      if (resource.pending) {
        if (fresh) resource.again = true;
        return resource.pending;
      }
      resource.pending = (async () => {
        try {
          do {
            resource.again = false;
            const changed = await resource.refresh();
            if (changed && this.running) this.onChange(resource);
          } while (resource.again && this.running);
        } finally {
          resource.pending = null;
        }
      })();
      return resource.pending;
    }

    async settle(refreshes) {
      const outcomes = await Promise.allSettled(refreshes);
      if (!this.running) return;
      const failed = outcomes.find((o) => o.status === 'rejected');
      this.onStatus(failed ? failed.reason : null);
    }

    async tick() {
      this.timer = null;
      if (!this.running) return;
      if (!document.hidden) {
        const due = this.resources.filter(
          (r) => !r.forbidden && (!r.loaded || this.ticks % r.everyTicks === 0)
        );
        this.ticks += 1;
        await this.settle(due.map((resource) => this.refreshOne(resource, false)));
      }
      if (this.running && this.timer === null) {
        this.timer = setTimeout(() => this.tick(), this.intervalMs);
      }
    }
  }

  const STREAM_FAILURES_BEFORE_POLLING = 3;
  const STREAM_BACKOFF_MAX_MS = 30000;
  // Three of the service's heart-beats (every 15 s) missed: the connection is dead.
  const STREAM_SILENCE_MS = 45000;

  /* The live change stream (GET …/stream, Server-Sent Events), read with fetch() because an
     EventSource cannot send the Authorization header. Each event is handed to `onEvent`
     (null: "reload everything"). A stream that ends or drops is reopened with Last-Event-ID,
     so no event is lost; one that keeps failing is retried ever more slowly, and after
     STREAM_FAILURES_BEFORE_POLLING failures in a row `onMode('polling')` tells the page to
     poll until `onMode('stream')` says the stream is back. */
  class ChangeStream {
    constructor(campaignPath, onEvent, onMode) {
      this.path = campaignPath + '/stream';
      this.onEvent = onEvent;
      this.onMode = onMode;
      this.lastId = null;
      this.retryMs = 2000; // until the service's `retry:` says otherwise
      this.failures = 0;
      this.mode = null;
      this.running = false;
      this.controller = null;
      this.timer = null;
      this.watchdog = null;
      this.greeted = false;
    }

    start() {
      this.running = true;
      this.connect();
    }

    stop() {
      this.running = false;
      clearTimeout(this.timer);
      clearTimeout(this.watchdog);
      this.timer = null;
      if (this.controller) this.controller.abort();
      this.controller = null;
    }

    setMode(mode) {
      if (mode === this.mode) return;
      this.mode = mode;
      this.onMode(mode);
    }

    async connect() {
      this.timer = null;
      if (!this.running) return;
      const session = readSession();
      if (!session) {
        this.stop();
        expired();
        return;
      }
      const headers = { Accept: 'text/event-stream', Authorization: 'Bearer ' + session.token };
      if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
      const controller = new AbortController();
      this.controller = controller;
      this.greeted = false;
      let waitMs = null;
      this.arm(controller);
      try {
        const response = await fetch(API + this.path, {
          headers: headers,
          cache: 'no-store',
          credentials: 'omit',
          signal: controller.signal,
        });
        if (response.status === 401) {
          this.stop();
          expired();
          return;
        }
        if (response.status === 422 && this.lastId !== null) {
          // An id this service never gave (its database was restored): start afresh.
          this.lastId = null;
          this.onEvent(null);
          waitMs = 0;
        } else if (!response.ok || !response.body) {
          waitMs = Number(response.headers.get('Retry-After')) * 1000 || null;
          throw new ApiError(response.status, await problemDetail(response));
        } else {
          await this.read(response.body, controller);
        }
      } catch (error) {
        /* refused, unreachable, or stopped by the watchdog: tried again below */
      }
      clearTimeout(this.watchdog);
      if (!this.running || this.controller !== controller) return;
      this.controller = null;
      if (this.greeted || waitMs === 0) {
        this.failures = 0;
        this.schedule(waitMs === 0 ? 0 : this.retryMs);
        return;
      }
      this.failures += 1;
      if (this.failures >= STREAM_FAILURES_BEFORE_POLLING) this.setMode('polling');
      const backoff = Math.min(STREAM_BACKOFF_MAX_MS, 1000 * 2 ** (this.failures - 1));
      this.schedule(Math.max(waitMs || 0, backoff * (1 + Math.random() * 0.2)));
    }

    schedule(ms) {
      if (this.running) this.timer = setTimeout(() => this.connect(), ms);
    }

    /* A connection silent for too long (no answer, no heart-beat) is given up: the next
       attempt resumes where it stopped. */
    arm(controller) {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => controller.abort(), STREAM_SILENCE_MS);
    }

    /* The event-stream format (WHATWG HTML, Server-sent events), message by message. */
    async read(body, controller) {
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let message = { id: null, type: '', data: [] };
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        this.arm(controller);
        buffer += chunk.value;
        // A CR at the end may be the first half of a CRLF: it waits for the next chunk.
        const complete = buffer.endsWith('\r') ? buffer.slice(0, -1) : buffer;
        const lines = complete.split(/\r\n|\r|\n/);
        buffer = lines.pop() + buffer.slice(complete.length);
        for (const line of lines) {
          if (line !== '') {
            this.field(message, line);
            continue;
          }
          this.dispatch(message);
          message = { id: null, type: '', data: [] };
        }
      }
    }

    field(message, line) {
      if (line.startsWith(':')) return; // a comment: the heart-beat
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (name === 'data') message.data.push(value);
      else if (name === 'event') message.type = value;
      else if (name === 'id' && !value.includes('\0')) message.id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }

    dispatch(message) {
      if (message.id !== null) this.lastId = message.id;
      if (!this.greeted) {
        // The stream's first message names where it starts: it is up.
        this.greeted = true;
        this.failures = 0;
        this.setMode('stream');
      }
      if (!message.data.length) return;
      let data = null;
      try {
        data = JSON.parse(message.data.join('\n'));
      } catch (error) {
        /* not JSON: still a change */
      }
      this.onEvent({ id: message.id, type: message.type || 'message', data: data });
    }
  }

  SB.api = {
    ApiError: ApiError,
    ChangeStream: ChangeStream,
    Poller: Poller,
    Resource: Resource,
    get: get,
    onExpired: onExpired,
    readSession: readSession,
    signIn: signIn,
    signOut: signOut,
  };
})();
