/**
 * @generated SignedSource<<fc63424f4124548296c150f1c88f8c62>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type ErrorCode = "COMPARE_QUANTITY_STALE" | "EXCEEDS_IN_TRANSIT" | "EXCEEDS_RESERVED" | "IDEMPOTENCY_KEY_IN_PROGRESS" | "IDEMPOTENCY_KEY_REUSED" | "INACTIVE_WAREHOUSE" | "INBOUND_LINE_NOT_FOUND" | "INBOUND_SHIPMENT_CLOSED" | "INBOUND_SHIPMENT_NOT_FOUND" | "INCOMING_BELOW_OPEN_INBOUND" | "INSUFFICIENT_STOCK" | "INVALID_INPUT" | "INVALID_TTL" | "INVENTORY_NOT_FOUND" | "NEGATIVE_QUANTITY" | "OVER_RECEIPT" | "PREORDERS_UNCOVERED" | "PRODUCT_NOT_FOUND" | "QUANTITY_BELOW_RECEIVED" | "QUANTITY_BELOW_RESERVED" | "QUANTITY_OUT_OF_RANGE" | "READONLY_WAREHOUSE" | "RESERVATION_EXPIRED" | "RESERVATION_LINE_NOT_FOUND" | "RESERVATION_NOT_ACTIVE" | "RESERVATION_NOT_FOUND" | "SAME_WAREHOUSE" | "SHIP_TO_NOT_SERVED" | "TAKEN" | "TOO_MANY_ITEMS" | "TRANSFER_CLOSED" | "TRANSFER_LINE_NOT_FOUND" | "TRANSFER_NOT_FOUND" | "VARIANT_LABEL_AMBIGUOUS" | "VARIANT_NOT_FOUND" | "WAREHOUSE_NOT_FOUND" | "WEBHOOK_DELIVERY_NOT_FOUND" | "WEBHOOK_NOT_FOUND" | "WEBHOOK_URL_FORBIDDEN" | "%future added value";
export type RelayRenameMutation$variables = {
  id: string;
  name: string;
};
export type RelayRenameMutation$data = {
  readonly productUpdate: {
    readonly product: {
      readonly id: string;
      readonly name: string;
    } | null | undefined;
    readonly userErrors: ReadonlyArray<{
      readonly code: ErrorCode;
    }>;
  };
};
export type RelayRenameMutation = {
  response: RelayRenameMutation$data;
  variables: RelayRenameMutation$variables;
};

const node: ConcreteRequest = (function(){
var v0 = [
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "id"
  },
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "name"
  }
],
v1 = [
  {
    "alias": null,
    "args": [
      {
        "kind": "Variable",
        "name": "id",
        "variableName": "id"
      },
      {
        "fields": [
          {
            "kind": "Variable",
            "name": "name",
            "variableName": "name"
          }
        ],
        "kind": "ObjectValue",
        "name": "input"
      }
    ],
    "concreteType": "ProductPayload",
    "kind": "LinkedField",
    "name": "productUpdate",
    "plural": false,
    "selections": [
      {
        "alias": null,
        "args": null,
        "concreteType": "Product",
        "kind": "LinkedField",
        "name": "product",
        "plural": false,
        "selections": [
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "id",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "name",
            "storageKey": null
          }
        ],
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "concreteType": "UserError",
        "kind": "LinkedField",
        "name": "userErrors",
        "plural": true,
        "selections": [
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "code",
            "storageKey": null
          }
        ],
        "storageKey": null
      }
    ],
    "storageKey": null
  }
];
return {
  "fragment": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Fragment",
    "metadata": null,
    "name": "RelayRenameMutation",
    "selections": (v1/*:: as any*/),
    "type": "Mutation",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "RelayRenameMutation",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "08970d7d638578f112ab98ce81267c37",
    "id": null,
    "metadata": {},
    "name": "RelayRenameMutation",
    "operationKind": "mutation",
    "text": "mutation RelayRenameMutation(\n  $id: ID!\n  $name: String!\n) {\n  productUpdate(id: $id, input: {name: $name}) {\n    product {\n      id\n      name\n    }\n    userErrors {\n      code\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "1883b258ddc53a4f2b4f91c0e52b9015";

export default node;
