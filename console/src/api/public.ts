// The public endpoints the console reads too (leaderboards, campaign standings). They
// take a mini-program user's token or none: an admin token would be refused there, so
// this client sends no Authorization header at all.
import createClient from "openapi-fetch";
import type { paths } from "./schema";

export const publicApi = createClient<paths>({ baseUrl: "" });
