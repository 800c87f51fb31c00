// Small pieces several screens share: translated options of an enum, the people tickets
// can be assigned to, and a table's header row.
import { useEffect, useState } from "react";

import { api, type Schemas } from "../api/client";
import { useI18n, type Key } from "../i18n";

export const STATUSES: Schemas["TicketStatus"][] = ["new", "open", "pending", "solved", "closed"];
export const PRIORITIES: Schemas["Priority"][] = ["urgent", "high", "normal", "low"];

/** `<option>`s of `values`, each labelled with the text `<prefix>.<value>`. */
export function Options({ values, prefix }: { values: readonly string[]; prefix: string }) {
  const { t } = useI18n();
  return (
    <>
      {values.map((value) => (
        <option key={value} value={value}>
          {t(`${prefix}.${value}` as Key)}
        </option>
      ))}
    </>
  );
}

/** The people tickets can be assigned to, loaded once. */
export function useAssignees(): Schemas["AssigneeOut"][] {
  const [people, setPeople] = useState<Schemas["AssigneeOut"][]>([]);
  useEffect(() => {
    api.GET("/v1/assignees").then((found) => setPeople(found.data ?? []));
  }, []);
  return people;
}

/** `<option>`s of the people tickets can be assigned to. */
export function PeopleOptions({ people }: { people: Schemas["AssigneeOut"][] }) {
  return (
    <>
      {people.map((person) => (
        <option key={person.id} value={person.id}>
          {person.name ?? person.email}
        </option>
      ))}
    </>
  );
}

/** A ticket's or a document's tags, after its other details. */
export function Tags({ tags }: { tags: string[] }) {
  return (
    <>
      {tags.map((tag) => (
        <span key={tag} className="tag" translate="no">
          {tag}
        </span>
      ))}
    </>
  );
}

/** A header row of column titles, with an unlabelled (screen-reader only) actions column. */
export function HeaderRow({ columns, actions }: { columns: string[]; actions?: string }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span className="visually-hidden">{actions}</span>
          </th>
        )}
      </tr>
    </thead>
  );
}
