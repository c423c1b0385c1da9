/**
 * The repository's Markdown stands on its own: every relative link names a file of the repository
 * that exists, every `#anchor` names a heading (GitHub's slug) or an `<a id>` of its page, and no
 * link leaves the repository by a path (`../` above its root, an absolute path, `file:`).
 * Links to web addresses (`https:`, `mailto:`) are not followed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

function markdownFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((f) => f !== '' && fs.existsSync(path.join(ROOT, f)))
    .sort();
}

/** A fenced code block, fences included. */
const FENCED = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

/** The text without fenced code blocks and inline code spans (links there are examples, not links). */
function prose(text: string): string {
  return text.replace(FENCED, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '') // code and emphasis marks (underscores stay, as on GitHub)
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map<string, Set<string>>();

function anchorsOf(file: string): Set<string> {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const text = fs.readFileSync(file, 'utf8');
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = text.replace(FENCED, '');
  for (const m of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1] ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] ?? '');
  anchorCache.set(file, anchors);
  return anchors;
}

interface Problem {
  file: string;
  link: string;
  why: string;
}

function problemsOf(file: string): Problem[] {
  const abs = path.join(ROOT, file);
  const problems: Problem[] = [];
  // Inline links and images `[text](target)` and reference definitions `[name]: target`.
  const text = prose(fs.readFileSync(abs, 'utf8'));
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? ''),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1] ?? ''),
  ];
  for (const link of targets) {
    if (/^(https?|mailto):/i.test(link)) continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
      problems.push({ file, link, why: 'a scheme other than https/mailto (outside the repository)' });
      continue;
    }
    const [rawPath = '', anchor] = link.split('#', 2);
    const target = rawPath === '' ? abs : path.resolve(path.dirname(abs), decodeURIComponent(rawPath));
    if (path.isAbsolute(rawPath) || !(target === ROOT || target.startsWith(ROOT + path.sep))) {
      problems.push({ file, link, why: 'points outside the repository' });
      continue;
    }
    if (!fs.existsSync(target)) {
      problems.push({ file, link, why: 'no such file' });
      continue;
    }
    if (anchor !== undefined && anchor !== '' && target.endsWith('.md') && !anchorsOf(target).has(anchor))
      problems.push({
        file,
        link,
        why: `no heading or <a id> "${anchor}" in ${path.relative(ROOT, target)}`,
      });
  }
  return problems;
}

describe("the repository's Markdown links", () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('Changes made, with before and after')).toBe('changes-made-with-before-and-after');
    expect(slug('`DISPATCH_INTERVAL_MS`: the dispatcher')).toBe('dispatch_interval_ms-the-dispatcher');
    expect(slug('What the [emulator](x.md) cannot show')).toBe('what-the-emulator-cannot-show');
    expect(slug('7. dbt triggers executions')).toBe('7-dbt-triggers-executions');
  });

  it('finds the Markdown files (README and docs among them)', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    expect(files).toContain('docs/design.md');
  });

  it('every relative link and anchor resolves inside the repository', () => {
    const problems = markdownFiles().flatMap(problemsOf);
    expect(problems).toEqual([]);
  });

  it('would report a missing file, a missing anchor and a path outside the repository', () => {
    fs.mkdirSync(path.join(ROOT, '.local'), { recursive: true });
    const dir = fs.mkdtempSync(path.join(ROOT, '.local', 'docs-links-'));
    try {
      const page = path.join(dir, 'page.md');
      fs.writeFileSync(
        page,
        [
          '# A page',
          '[ok](#a-page) [missing](nowhere.md) [anchor](#no-such-heading)',
          '[out](../../../outside.md) [abs](/etc/hosts) [web](https://example.com)',
          '`[not a link](nowhere.md)`',
        ].join('\n'),
      );
      const problems = problemsOf(path.relative(ROOT, page)).map((p) => `${p.link}: ${p.why}`);
      expect(problems).toEqual([
        'nowhere.md: no such file',
        expect.stringMatching(/^#no-such-heading: no heading/),
        '../../../outside.md: points outside the repository',
        '/etc/hosts: points outside the repository',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
