// How far an ingest job is, by the work that takes the time, and how long it has left, from the rates measured
// so far. Pure functions of the job snapshots the server streams (no page access), so they are testable alone.

// The bar: embedding the passages is most of a job's time; reading and splitting (OCR included) comes first,
// writing each finished file to the database and the index last.
const READ_SHARE = 0.1;
const EMBED_SHARE = 0.8;
const WRITE_SHARE = 0.1;

const OCR_STEP = /OCR page (\d+) of (\d+)/;
export const SAVING_INDEX = "saving the search index"; // the server's step after the last file

// The passages the job will embed: exact once every file is read, else extrapolated from the files read.
export function expectedChunks(job) {
  if (!job.files_total || !job.files_read) return 0;
  if (job.files_read >= job.files_total) return job.chunks_split;
  return Math.round((job.chunks_split * job.files_total) / job.files_read);
}

// Files read, counting the pages of one being read by OCR.
function filesRead(job) {
  const ocr = OCR_STEP.exec(job.current || "");
  return Math.min(job.files_total, job.files_read + (ocr ? Number(ocr[1]) / Math.max(Number(ocr[2]), 1) : 0));
}

// What is left of each stage of the pipeline, in its own unit (files read, passages embedded, files written).
function stagesLeft(job) {
  const total = job.files_total;
  const expected = expectedChunks(job);
  // Passages already embedded once (unchanged text) are not embedded again: with every file read so far also
  // written, nothing waits for the embedder but the files not yet read.
  const perFile = job.files_read ? job.chunks_split / job.files_read : 0;
  const embedLeft = job.files_done >= job.files_read
    ? (total - job.files_read) * perFile
    : Math.max(0, expected - job.chunks_embedded);
  return { read: total - filesRead(job), embed: embedLeft, write: total - job.files_done };
}

// The part of the job done, 0 to 1.
export function workDone(job) {
  const total = job.files_total;
  if (!total) return 0;
  const expected = expectedChunks(job);
  const written = job.files_done / total;
  // Files with nothing to embed (unchanged, or all their passages embedded before): their writing is the work.
  const embedded = expected ? Math.min(1, job.chunks_embedded / expected, 1 - stagesLeft(job).embed / expected) : written;
  return Math.min(1, READ_SHARE * (filesRead(job) / total) + EMBED_SHARE * Math.max(embedded, written) + WRITE_SHARE * written);
}

const WINDOW_MS = 20_000; // rates are measured over the changes of the last 20 s (at least the last 3)
const MIN_ELAPSED_MS = 6_000; // and not before the job has run this long
const STABLE_MS = 4_000; // estimates of the last 4 s must agree ...
const STABLE_SPREAD = 0.25; // ... within 25% of their median before one is shown
const FINISHING_S = 5;
const STAGES = ["read", "embed", "write"];

// One job's estimate as its snapshots arrive. The bar never goes back. The time left is that of the slowest
// stage still working (reading, embedding, writing run side by side), each at the rate its own counter moved:
// from change to change, since files finish one at a time (a stage that has not moved twice yet, or has
// stalled, gives no estimate). It is shown only once it is steady, counts down between measurements, and near
// the end says "finishing" rather than a number that would sit still.
export class JobProgress {
  constructor() {
    this.changes = { read: [], embed: [], write: [] }; // per stage: [ms, left] each time its counter moved
    this.previous = null; // the last snapshot's {read, embed, write} left
    this.estimates = []; // [ms, seconds left]
    this.shown = 0;
    this.started = null;
    this.eta = null;
    this.etaAt = 0;
    this.last = null; // the estimate of the latest snapshot
  }

  // A new snapshot of the job: measured.
  update(job, now = Date.now()) {
    this.last = this.measureSnapshot(job, now);
    return this.last;
  }

  // No new snapshot, only time passing: the time left counts down.
  peek(now = Date.now()) {
    if (!this.last || this.last.eta === null) return this.last;
    const eta = this.remaining(now);
    return eta <= FINISHING_S ? { ...this.last, eta: null, finishing: true } : { ...this.last, eta };
  }

  measureSnapshot(job, now) {
    this.shown = Math.max(this.shown, workDone(job));
    if (job.status !== "running") return { fraction: this.shown, eta: null, finishing: false };
    if (this.started === null) this.started = now;
    const left = stagesLeft(job);
    for (const stage of STAGES) {
      if (this.previous && left[stage] === this.previous[stage]) continue;
      const changes = this.changes[stage];
      changes.push([now, left[stage]]);
      while (changes.length > 3 && now - changes[0][0] > WINDOW_MS) changes.shift();
    }
    this.previous = left;
    const estimate = this.measure(now, left);
    if (estimate !== null && now - this.started >= MIN_ELAPSED_MS) this.estimates.push([now, estimate]);
    this.estimates = this.estimates.filter(([at]) => now - at <= STABLE_MS);
    if (this.steady()) {
      const latest = this.estimates[this.estimates.length - 1][1];
      // A new measurement replaces the countdown only when it differs by more than 15%: no flicker.
      const counted = this.eta === null ? null : this.remaining(now);
      if (counted === null || Math.abs(latest - counted) > 0.15 * Math.max(counted, 1)) { this.eta = latest; this.etaAt = now; }
    }
    const allDone = job.files_total > 0 && left.read <= 0 && left.embed <= 0 && left.write <= 0;
    if (allDone || job.current === SAVING_INDEX || (this.eta !== null && this.remaining(now) <= FINISHING_S)) {
      return { fraction: this.shown, eta: null, finishing: true };
    }
    return { fraction: this.shown, eta: this.eta === null ? null : this.remaining(now), finishing: false };
  }

  // Seconds until the slowest stage is through, or null while a stage with work left has no rate yet.
  measure(now, left) {
    let slowest = 0;
    for (const stage of STAGES) {
      if (left[stage] <= 0) continue;
      const changes = this.changes[stage];
      if (changes.length < 3) return null; // its first value, and two moves to time
      const [t0, left0] = changes[1]; // from its first move: the time before it is not its rate
      const [t1, left1] = changes[changes.length - 1];
      const done = left0 - left1;
      if (done <= 0 || t1 <= t0) return null;
      const interval = (t1 - t0) / 1000 / (changes.length - 2);
      // Stalled for longer than two of its usual intervals: the time since counts too.
      const seconds = now - t1 > 2000 * interval ? (now - t0) / 1000 : (t1 - t0) / 1000;
      slowest = Math.max(slowest, left[stage] / (done / seconds));
    }
    return slowest;
  }

  remaining(now) {
    return Math.max(0, this.eta - (now - this.etaAt) / 1000);
  }

  steady() {
    const n = this.estimates.length;
    if (n < 3 || this.estimates[n - 1][0] - this.estimates[0][0] < STABLE_MS / 2) return false;
    const values = this.estimates.map(([, s]) => s).sort((a, b) => a - b);
    const median = values[Math.floor(n / 2)];
    return values[0] >= median * (1 - STABLE_SPREAD) && values[n - 1] <= median * (1 + STABLE_SPREAD);
  }
}
