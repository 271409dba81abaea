/**
 * The web UI: one HTML page that renders itself from its path, its scripts (app.js, with the
 * DOM and API helpers every page uses dom.js, the search box's language query.js and the
 * overview's charts overview.js) and style, and the
 * sign-in page with its script. The files are read once, at start. (The blocks page and its
 * script: routes/blocks.ts.)
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UI_DIR } from '../assets';

export function registerUiRoutes(app: FastifyInstance): void {
  const ui = {
    html: readFileSync(join(UI_DIR, 'index.html')),
    js: readFileSync(join(UI_DIR, 'app.js')),
    dom: readFileSync(join(UI_DIR, 'dom.js')),
    css: readFileSync(join(UI_DIR, 'style.css')),
    login: readFileSync(join(UI_DIR, 'login.html')),
    loginJs: readFileSync(join(UI_DIR, 'login.js')),
    query: readFileSync(join(UI_DIR, 'query.js')),
    overview: readFileSync(join(UI_DIR, 'overview.js')),
  };
  const page = (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(ui.html);
  app.get('/', page);
  app.get('/session/:session/:part', page);
  app.get('/journey/:session', page);
  app.get('/attacks', page);
  app.get('/apps/:app/recommendations', page);
  app.get('/recommendations', page);
  app.get('/ui/app.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.js));
  app.get('/ui/dom.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.dom));
  app.get('/ui/query.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.query));
  app.get('/ui/overview.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.overview));
  app.get('/ui/style.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(ui.css));
  app.get('/ui/login.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.loginJs));
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());
  app.get('/login', (_req, reply) => reply.type('text/html; charset=utf-8').send(ui.login));
}
