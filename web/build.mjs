// Builds the page into dist/: src/main.js and the CSS it imports bundled and minified by
// esbuild (content-hashed names, so a CDN may cache them for good), index.html pointing at them.
// Prints each file's size, raw and gzipped, to keep the bundle lean in view.

import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, 'dist')

await rm(dist, { recursive: true, force: true })
await mkdir(dist, { recursive: true })

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  outdir: 'dist',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
})

// The entry's output and its CSS, by the names esbuild gave them.
const [script, { cssBundle }] = Object.entries(result.metafile.outputs).find(
  ([, output]) => output.entryPoint === 'src/main.js',
)
const relative = (file) => `./${path.relative('dist', file)}`

let html = await readFile(path.join(here, 'index.html'), 'utf8')
for (const [placeholder, file] of [
  ['./main.js', script],
  ['./main.css', cssBundle],
]) {
  if (!file) throw new Error(`esbuild produced no output for ${placeholder}`)
  if (!html.includes(`"${placeholder}"`)) {
    throw new Error(`index.html does not load "${placeholder}"`)
  }
  html = html.replace(`"${placeholder}"`, `"${relative(file)}"`)
}
// Written last: the Makefile's target is dist/index.html, so a failed build leaves none.
await writeFile(path.join(dist, 'index.html'), html)

const rows = []
for (const file of [script, cssBundle, 'dist/index.html']) {
  const bytes = await readFile(path.join(here, file))
  const { size } = await stat(path.join(here, file))
  rows.push([path.relative('dist', file), size, gzipSync(bytes).length])
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10)
console.log('web/dist:')
for (const [name, raw, gz] of rows) {
  console.log(`  ${name.padEnd(28)} ${kib(raw)} ${kib(gz)} gzipped`)
}
const total = rows.reduce((sum, [, raw, gz]) => [sum[0] + raw, sum[1] + gz], [0, 0])
console.log(`  ${'total'.padEnd(28)} ${kib(total[0])} ${kib(total[1])} gzipped`)
