import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrefixCache, type CacheUsage } from './prefix-cache';

/**
 * A model server for tests, answering each request with what a script decides. It
 * speaks the two APIs coding-agent CLIs use, streamed (server-sent events) or as
 * one JSON document:
 * - the Anthropic Messages API (POST /v1/messages), as Claude Code uses it;
 * - the OpenAI Responses API (POST /v1/responses), as the Codex CLI uses it.
 * Every request is recorded with the answer it got, so a test can check what the
 * client sent. It listens on 127.0.0.1 only.
 */

type ModelApi = 'messages' | 'responses';

/** One tool call: an object input is a function call; a string input is a custom (freeform) tool call (Responses only). */
export interface ScriptedToolCall {
  name: string;
  input: Record<string, unknown> | string;
}

/** What the script answers one request with: some text, then tool calls, and the usage to report. */
interface ScriptedReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  usage: { inputTokens: number; outputTokens: number };
}

interface RecordedRequest {
  method: string;
  /** Without the query string: `/v1/messages`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when there was none). */
  body: Record<string, unknown> | undefined;
  /** Set for a model request: which API, and what the script read in it. */
  turn?: ScriptedTurn;
  reply?: ScriptedReply;
  /** When the whole request had arrived, and when its answer began (ms since the epoch). */
  receivedAt?: number;
  respondedAt?: number;
  /** With a prompt cache (Messages API): what the request read from it and wrote to it, as reported in its usage. */
  cache?: CacheUsage;
}

/** A model request as the script sees it, the same for both APIs. */
interface ScriptedTurn {
  api: ModelApi;
  /** Every text the request carries: instructions, system prompt, messages, tool results. */
  text: string;
  /** The names of the tools offered (namespaced tools included). */
  tools: string[];
  /** The results of the previous reply's tool calls, when the request carries them: the tools have run. */
  toolResults: { output: string; isError: boolean }[];
}

export type Script = (turn: ScriptedTurn, request: RecordedRequest) => ScriptedReply;

export interface ScriptedModelServer {
  /** e.g. http://127.0.0.1:41234 (ANTHROPIC_BASE_URL; add /v1 for an OpenAI provider's base_url). */
  url: string;
  requests: RecordedRequest[];
  stop: () => Promise<void>;
}

export interface ScriptedServerOptions {
  /**
   * Report Messages API usage as a provider's prompt cache would (prefix-cache.ts):
   * input, cache read and cache write tokens counted from the request itself, the
   * script's inputTokens unused. Without it, the script's usage, nothing cached.
   */
  promptCache?: boolean;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startScriptedModelServer(script: Script, options: ScriptedServerOptions = {}): Promise<ScriptedModelServer> {
  const requests: RecordedRequest[] = [];
  const cache = options.promptCache ? new PrefixCache() : undefined;
  let replies = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        path: (request.url ?? '/').split('?')[0],
        headers: request.headers,
        body: undefined,
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      try {
        if (raw) recorded.body = JSON.parse(raw) as Record<string, unknown>;
        answer(recorded, response);
      } catch (error) {
        // A 4xx, not a 5xx: clients retry server errors for minutes, and a broken script
        // should fail its session at once, with this message in the session's log.
        sendJson(response, 400, {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message: `scripted model server: ${String(error)}`,
          },
        });
      }
    });
  });

  const answer = (recorded: RecordedRequest, response: ServerResponse) => {
    const { method, path, body } = recorded;
    if (method === 'POST' && path === '/v1/messages/count_tokens') {
      // Roughly four characters a token, as good as a client needs for its estimates.
      sendJson(response, 200, {
        input_tokens: Math.ceil(JSON.stringify(body ?? {}).length / 4),
      });
      return;
    }
    const api: ModelApi | undefined =
      method !== 'POST' || !body ? undefined : path === '/v1/messages' ? 'messages' : path === '/v1/responses' ? 'responses' : undefined;
    if (!api || !body) {
      sendJson(response, 404, {
        type: 'error',
        error: {
          type: 'not_found_error',
          message: `${method} ${path} is not scripted.`,
        },
      });
      return;
    }
    recorded.turn = api === 'messages' ? readMessagesTurn(body) : readResponsesTurn(body);
    const reply = script(recorded.turn, recorded);
    recorded.reply = reply;
    const id = ++replies;
    if (api === 'messages') {
      const cached = cache?.request(body);
      recorded.cache = cached?.usage;
      sendMessage(response, reply, id, body, cached?.usage, () => {
        recorded.respondedAt = Date.now();
        cached?.write.begin();
      });
    } else {
      recorded.respondedAt = Date.now();
      sendResponse(response, reply, id, body);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// --- Reading requests -------------------------------------------------------------

type Json = Record<string, unknown>;

const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Every `text` of a content value (a string, or blocks that may nest tool results). */
function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  return list(content).flatMap((block) => (isJson(block) ? [...textsOf(block['text']), ...textsOf(block['content'])] : []));
}

function readMessagesTurn(body: Json): ScriptedTurn {
  const messages = list(body['messages']).filter(isJson);
  const last = messages.at(-1);
  const toolResults = list(last?.['content'])
    .filter((block) => isJson(block) && block['type'] === 'tool_result')
    .map((block) => ({
      output: textsOf((block as Json)['content']).join('\n'),
      isError: (block as Json)['is_error'] === true,
    }));
  return {
    api: 'messages',
    text: [...textsOf(body['system']), ...messages.flatMap((message) => textsOf(message['content']))].join('\n'),
    tools: list(body['tools']).flatMap((tool) => (isJson(tool) && typeof tool['name'] === 'string' ? [tool['name']] : [])),
    toolResults,
  };
}

const TOOL_OUTPUTS = ['function_call_output', 'custom_tool_call_output'];

function readResponsesTurn(body: Json): ScriptedTurn {
  const items = list(body['input']).filter(isJson);
  // Tools come in `tools`, or (Codex) in input items of type additional_tools, grouped in namespaces.
  const toolNames = (tools: unknown): string[] =>
    list(tools).flatMap((tool) =>
      !isJson(tool) ? [] : tool['type'] === 'namespace' ? toolNames(tool['tools']) : typeof tool['name'] === 'string' ? [tool['name']] : [],
    );
  const trailingOutputs: Json[] = [];
  for (const item of [...items].reverse()) {
    if (!TOOL_OUTPUTS.includes(item['type'] as string)) break;
    trailingOutputs.unshift(item);
  }
  return {
    api: 'responses',
    text: [
      ...textsOf(body['instructions']),
      ...items.flatMap((item) =>
        item['type'] === 'message'
          ? textsOf(item['content'])
          : TOOL_OUTPUTS.includes(item['type'] as string)
            ? textsOf(item['output'])
            : [],
      ),
    ].join('\n'),
    tools: [...toolNames(body['tools']), ...items.flatMap((item) => (item['type'] === 'additional_tools' ? toolNames(item['tools']) : []))],
    // The Responses API has no error flag on a tool's output: a failure is in its text.
    toolResults: trailingOutputs.map((item) => ({
      output: textsOf(item['output']).join('\n'),
      isError: false,
    })),
  };
}

// --- Answering: the Messages API ---------------------------------------------------

type MessageBlock =
  | { type: 'text'; text: string }
  | {
      type: 'tool_use';
      id: string;
      name: string;
      input: Record<string, unknown>;
    };

function sendMessage(
  response: ServerResponse,
  reply: ScriptedReply,
  id: number,
  body: Json,
  cached: CacheUsage | undefined,
  begin: () => void,
) {
  const content: MessageBlock[] = [];
  if (reply.text) content.push({ type: 'text', text: reply.text });
  (reply.toolCalls ?? []).forEach((call, index) => {
    if (typeof call.input === 'string') throw new Error(`the Messages API has no freeform tool calls (${call.name})`);
    content.push({
      type: 'tool_use',
      id: `toolu_scripted_${id}_${index}`,
      name: call.name,
      input: call.input,
    });
  });
  const usage = {
    input_tokens: cached ? cached.input : reply.usage.inputTokens,
    output_tokens: reply.usage.outputTokens,
    cache_creation_input_tokens: cached ? cached.cacheWrite : 0,
    cache_read_input_tokens: cached ? cached.cacheRead : 0,
  };
  const message = {
    id: `msg_scripted_${id}`,
    type: 'message',
    role: 'assistant',
    model: body['model'] ?? 'scripted',
    content,
    stop_reason: reply.toolCalls?.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage,
  };
  begin();
  if (body['stream'] !== true) {
    sendJson(response, 200, message);
    return;
  }
  // message_start (usage so far), each block as start/delta/stop (a tool's input as one
  // JSON delta), message_delta (stop reason, final output tokens), message_stop.
  const send = openEventStream(response);
  send('message_start', {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', {
        index,
        content_block: { type: 'text', text: '' },
      });
      send('content_block_delta', {
        index,
        delta: { type: 'text_delta', text: block.text },
      });
    } else {
      send('content_block_start', {
        index,
        content_block: { ...block, input: {} },
      });
      send('content_block_delta', {
        index,
        delta: {
          type: 'input_json_delta',
          partial_json: JSON.stringify(block.input),
        },
      });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  send('message_stop', {});
  response.end();
}

// --- Answering: the Responses API --------------------------------------------------

function sendResponse(response: ServerResponse, reply: ScriptedReply, id: number, body: Json) {
  const output: Json[] = [];
  if (reply.text) {
    output.push({
      type: 'message',
      id: `msg_scripted_${id}`,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: reply.text, annotations: [] }],
    });
  }
  (reply.toolCalls ?? []).forEach((call, index) => {
    const callId = `call_scripted_${id}_${index}`;
    output.push(
      typeof call.input === 'string'
        ? {
            type: 'custom_tool_call',
            id: `ctc_${callId}`,
            call_id: callId,
            name: call.name,
            input: call.input,
            status: 'completed',
          }
        : {
            type: 'function_call',
            id: `fc_${callId}`,
            call_id: callId,
            name: call.name,
            arguments: JSON.stringify(call.input),
            status: 'completed',
          },
    );
  });
  const completed = {
    id: `resp_scripted_${id}`,
    object: 'response',
    status: 'completed',
    model: body['model'] ?? 'scripted',
    output,
    usage: {
      input_tokens: reply.usage.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: reply.usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: reply.usage.inputTokens + reply.usage.outputTokens,
    },
  };
  if (body['stream'] !== true) {
    sendJson(response, 200, completed);
    return;
  }
  // response.created, each output item as added/done, response.completed (with the usage).
  const send = openEventStream(response);
  send('response.created', {
    response: { ...completed, status: 'in_progress', output: [], usage: null },
  });
  output.forEach((item, index) => {
    send('response.output_item.added', { output_index: index, item });
    send('response.output_item.done', { output_index: index, item });
  });
  send('response.completed', { response: completed });
  response.end();
}

// --- Transport ---------------------------------------------------------------------

/** Server-sent events; both APIs repeat the event's type inside its data. */
function openEventStream(response: ServerResponse) {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
  });
  return (type: string, data: object) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

function sendJson(response: ServerResponse, status: number, body: object) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
