/**
 * Relay documents of the client-compatibility suite (test/e2e/clients.test.ts). Only the Relay
 * compiler reads this file (`npx relay-compiler test/clients/relay/relay.config.json` writes
 * __generated__/, committed); the test imports the generated artifacts.
 */
import { graphql } from 'relay-runtime';

export const products = graphql`
  query RelayProductsQuery($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter) {
    ...RelayProducts_query @arguments(first: $first, after: $after, last: $last, before: $before, filter: $filter)
  }
`;

export const productsFragment = graphql`
  fragment RelayProducts_query on Query
  @refetchable(queryName: "RelayProductsPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int" }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
    filter: { type: "ProductFilter" }
  ) {
    products(first: $first, after: $after, last: $last, before: $before, filter: $filter)
      @connection(key: "RelayProducts_products", filters: ["filter"]) {
      edges {
        node {
          id
          name
          totalAvailable
        }
      }
    }
  }
`;

export const product = graphql`
  query RelayProductQuery($id: ID!) {
    product(id: $id) {
      id
      name
      ...RelayProduct_product
    }
  }
`;

export const productFragment = graphql`
  fragment RelayProduct_product on Product @refetchable(queryName: "RelayProductRefetchQuery") {
    id
    name
    totalAvailable
  }
`;

export const rename = graphql`
  mutation RelayRenameMutation($id: ID!, $name: String!) {
    productUpdate(id: $id, input: { name: $name }) {
      product {
        id
        name
      }
      userErrors {
        code
      }
    }
  }
`;

export const changed = graphql`
  subscription RelayChangedSubscription($after: String, $filter: InventoryEventFilter) {
    inventoryChanged(after: $after, filter: $filter) {
      cursor
      after {
        onHand
      }
    }
  }
`;
