import { badRequest, forbidden, notFound } from '../errors.js';
import type { UsersRepository } from '../users/users-repository.js';
import type { RoomRecord, RoomsRepository } from './rooms-repository.js';
import type { Member, Room, RoomSummary } from './rooms-schemas.js';

export interface RoomsServiceDeps {
  rooms: RoomsRepository;
  users: UsersRepository;
  maxGroupMembers: number;
}

/** A DIRECT room has no name of its own; each side sees the other's nickname. */
function displayName(room: { type: string; name: string | null; members: Member[] | null }, viewerId: number): string | null {
  if (room.type !== 'DIRECT') return room.name;
  return room.members?.find((member) => member.userId !== viewerId)?.nickname ?? null;
}

const toRoom = (record: RoomRecord, viewerId: number): Room => ({ id: record.roomId, ...record, name: displayName(record, viewerId) });

/** A user deleted between our check and our insert trips the foreign key; that is a 404, not a 500. */
async function userMustExist<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code === '23503') throw notFound(what);
    throw error;
  }
}

export function createRoomsService({ rooms, users, maxGroupMembers }: RoomsServiceDeps) {
  async function roomFor(userId: number, roomId: number): Promise<Room> {
    const record = await rooms.findWithMembers(roomId);
    if (!record) throw notFound(`Room ${roomId} not found`);
    if (!record.members.some((member) => member.userId === userId)) throw forbidden(`Not a member of room ${roomId}`);
    return toRoom(record, userId);
  }

  return {
    async openDirect(userId: number, targetUserId: number): Promise<{ room: Room; created: boolean }> {
      if (targetUserId === userId) throw badRequest('targetUserId: cannot open a direct room with yourself');
      if (!(await users.findById(targetUserId))) throw notFound(`User ${targetUserId} not found`);
      const { roomId, created } = await userMustExist(`User ${targetUserId} not found`, () =>
        rooms.findOrCreateDirect(userId, targetUserId),
      );
      return { room: await roomFor(userId, roomId), created };
    },

    async createGroup(userId: number, input: { name: string; memberIds: number[] }): Promise<Room> {
      const memberIds = [...new Set([userId, ...input.memberIds])];
      if (memberIds.length > maxGroupMembers) {
        throw badRequest(`memberIds: a group has at most ${maxGroupMembers} members including its creator`);
      }
      const others = memberIds.filter((id) => id !== userId);
      const existing = new Set(await users.findExistingIds(others));
      const unknown = others.filter((id) => !existing.has(id));
      if (unknown.length) throw notFound(`Unknown users: ${unknown.join(', ')}`);
      const roomId = await userMustExist('A member no longer exists', () =>
        rooms.createGroup({ name: input.name, createdBy: userId, memberIds }),
      );
      return roomFor(userId, roomId);
    },

    /** Two statements whatever the number of rooms: the rooms, then the unread counts. */
    async listRooms(userId: number): Promise<RoomSummary[]> {
      const records = await rooms.listForUser(userId);
      const unread = await rooms.unreadCounts(
        userId,
        records.map((record) => record.roomId),
      );
      return records.map(({ members, ...record }) => ({
        id: record.roomId,
        ...record,
        name: displayName({ ...record, members }, userId),
        ...(members ? { members } : {}),
        unreadCount: unread.get(record.roomId) ?? 0,
      }));
    },

    getRoom: roomFor,

    /** The members-only gate: 404 for a room that does not exist, 403 for one the caller is not in. */
    async requireMember(userId: number, roomId: number): Promise<void> {
      const access = await rooms.access(roomId, userId);
      if (access === 'no-room') throw notFound(`Room ${roomId} not found`);
      if (access === 'not-member') throw forbidden(`Not a member of room ${roomId}`);
    },
  };
}

export type RoomsService = ReturnType<typeof createRoomsService>;
