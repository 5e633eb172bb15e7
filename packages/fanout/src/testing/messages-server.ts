import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';

/**
 * An Anthropic Messages API server on 127.0.0.1 for tests with the real Claude Code: each model
 * request (POST /v1/messages, streamed or not) is answered with what `script` returns for it, and
 * recorded. Other requests get a 404.
 */

export interface MessagesTurn {
  /** Tool names offered (an empty list for Claude Code's side requests, such as a title). */
  tools: string[];
  /** The text of every tool result in the conversation so far, in order. */
  toolResults: string[];
  /** The system prompt's text, its blocks joined. */
  system: string;
}

export type MessagesReply = { text: string } | { tool: string; input: Record<string, unknown> };

export interface MessagesServer {
  url: string;
  turns: MessagesTurn[];
  /** Where each request was sent from: through a proxy a request for http://127.0.0.1 keeps its absolute URL. */
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  return list(content).flatMap((block) => (isJson(block) ? [...textsOf(block['text']), ...textsOf(block['content'])] : []));
}

export async function startMessagesServer(script: (turn: MessagesTurn) => MessagesReply): Promise<MessagesServer> {
  const turns: MessagesTurn[] = [];
  let id = 0;
  const server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      if (request.method !== 'POST' || path !== '/v1/messages') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"not_found_error"}}');
        return;
      }
      const body = JSON.parse(raw) as Json;
      const turn: MessagesTurn = {
        tools: list(body['tools']).flatMap((tool) => (isJson(tool) && typeof tool['name'] === 'string' ? [tool['name']] : [])),
        toolResults: list(body['messages'])
          .filter(isJson)
          .flatMap((message) => list(message['content']))
          .filter((block): block is Json => isJson(block) && block['type'] === 'tool_result')
          .map((block) => textsOf(block['content']).join('\n')),
        system: textsOf(body['system']).join('\n'),
      };
      turns.push(turn);
      const reply = script(turn);
      id++;
      const block =
        'text' in reply
          ? { type: 'text', text: reply.text }
          : { type: 'tool_use', id: `toolu_scripted_${id}`, name: reply.tool, input: reply.input };
      const usage = { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
      const message = {
        id: `msg_scripted_${id}`,
        type: 'message',
        role: 'assistant',
        model: body['model'] ?? 'scripted',
        content: [block],
        stop_reason: block.type === 'tool_use' ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage,
      };
      if (body['stream'] !== true) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(message));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (type: string, data: object) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
      if (block.type === 'text') {
        send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: (block as { text: string }).text } });
      } else {
        send('content_block_start', { index: 0, content_block: { ...block, input: {} } });
        send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      }
      send('content_block_stop', { index: 0 });
      send('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: 10 } });
      send('message_stop', {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    turns,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
