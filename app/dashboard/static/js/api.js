/* The dashboard's only way to the service: sign-in, the bearer token, and conditional
   requests. The token lives in sessionStorage (this tab, until it closes or expires), never
   in an address; the secret is sent once, in a form-encoded POST body. */
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
     lists without them every `everyTicks` ticks. A 403 hides what the role may not see. */
  class Resource {
    constructor(path, options) {
      const opts = options || {};
      this.path = path;
      this.auth = opts.auth !== false;
      this.everyTicks = opts.everyTicks || 1;
      this.etag = null;
      this.text = null;
      this.data = undefined;
      this.forbidden = false;
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

  /* Conditional polling, about once a second, until a change stream exists. Each resource
     reports its change as soon as it arrives, so the first panels paint before the last. */
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

    async tick() {
      this.timer = null;
      if (!this.running) return;
      if (!document.hidden) {
        const due = this.resources.filter(
          (r) => !r.forbidden && (!r.loaded || this.ticks % r.everyTicks === 0)
        );
        this.ticks += 1;
        const outcomes = await Promise.allSettled(
          due.map((resource) =>
            resource.refresh().then((changed) => {
              if (changed && this.running) this.onChange(resource);
            })
          )
        );
        if (!this.running) return;
        const failed = outcomes.find((o) => o.status === 'rejected');
        this.onStatus(failed ? failed.reason : null);
      }
      if (this.running) this.timer = setTimeout(() => this.tick(), this.intervalMs);
    }
  }

  SB.api = {
    ApiError: ApiError,
    Poller: Poller,
    Resource: Resource,
    get: get,
    onExpired: onExpired,
    readSession: readSession,
    signIn: signIn,
    signOut: signOut,
  };
})();
