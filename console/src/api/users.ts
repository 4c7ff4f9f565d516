// The admin user endpoints (docs/admin-users.md): typed by hand from their spec, called
// through the same client (token, 401 handling) as every typed call.
import { api } from "./client";
import type { components } from "./schema";

export interface Person { id: number; nickname: string | null }
export type DistributorStatus = "none" | "pending" | "approved" | "disabled";

export interface UserItem {
  id: number;
  nickname: string | null;
  avatar_url?: string | null;
  invite_code: string | null;
  distributor_status: DistributorStatus | string;
  inviter: Person | null;
  created_at: string;
  level1_count: number;
  level2_count: number;
  has_paid_order: boolean;
}

export interface UserFull extends UserItem {
  real_name?: string | null;
  phone?: string | null;
  level1_bp_override?: number | null;
  level2_bp_override?: number | null;
  depth?: number;
  root_id?: number | null;
  bound_at?: string | null;
  bind_source?: string | null;
  distributor_rejection_reason?: string | null;
}

export interface Wallet { pending_fen: number; available_fen: number; withdrawn_fen: number; total_earned_fen: number;
  in_transit_fen?: number }

export interface UserDetail {
  user: UserFull;
  ancestors: (Person & { level: number })[];
  wallet: Wallet;
  distributor_level?: components["schemas"]["UserLevel"];
}

export interface TeamMember {
  user_id: number; nickname: string | null; bound_at: string | null;
  orders_count: number; gmv_fen: number; commission_to_me_fen: number;
}

export interface UserCommission {
  id: number; order_id: number; level: number; amount_fen: number; reversed_fen?: number; status: string;
  buyer: Person | null; created_at: string;
}

export interface UserWithdrawal {
  id: number; status: string; amount_fen: number; out_bill_no: string | null; created_at: string;
  updated_at?: string | null; failure_reason?: string | null;
}

export interface BindEvent {
  id: number; old_inviter: Person | null; new_inviter: Person | null; source: string; reason: string | null;
  operator: { id: number; username: string } | null; created_at: string;
}

export interface RatesResult {
  user_id: number; level1_bp_override: number | null; level2_bp_override: number | null;
}

export interface Paged<T> { items: T[]; page: number; per_page: number; total: number; total_estimated?: boolean }

/** The typed client (the interfaces above name what the pages read of each answer). */
export const usersApi = api;
